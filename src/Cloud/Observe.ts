import { Clock, Effect } from "effect"
import { PhalaClient, type PhalaClientService } from "./PhalaClient.js"
import type { DesiredApp } from "../Core/Domain/App.js"
import { FetchFailure, Observation } from "../Core/Domain/Observation.js"
import type { AppReport, Snapshot } from "../Core/Domain/Report.js"
import { diffApp } from "../Core/Diff.js"

export interface CycleOptions {
  /** Epoch ms by which the cycle should be done; retries that would wait past it give up. */
  readonly deadline?: number
  /** The previous cycle's snapshot: apps that cannot be observed keep the name the API gave them then. */
  readonly previous?: Snapshot
  /** Apps observed at once (`api.concurrency`); the client's own semaphore bounds requests in flight. */
  readonly concurrency: number
}

/**
 * Without a configured name, an app is named by the API; when it turns unknown or missing, keep the last name seen,
 * so labels (`app_name`) and reports do not flip to the bare id during an outage.
 */
export const carryNames = (previous: Snapshot | undefined, reports: ReadonlyArray<AppReport>): ReadonlyArray<AppReport> => {
  if (previous === undefined) return reports
  const names = new Map(previous.apps.map((a) => [a.appId, a.name]))
  return reports.map((report) => carryName(names.get(report.appId), report))
}

/** `carryNames` for one report, given the name its app had in the previous snapshot. */
export const carryName = (earlier: string | undefined, report: AppReport): AppReport =>
  report.observed === null && report.desired.name === null && earlier !== undefined && earlier !== report.name
    ? { ...report, name: earlier }
    : report

const observe = (client: PhalaClientService, app: DesiredApp, options: CycleOptions) =>
  client.getApp(app.appId, options.deadline === undefined ? {} : { deadline: options.deadline }).pipe(
    Effect.map(Observation.found),
    Effect.catchTags({
      AppNotFound: () => Effect.succeed(Observation.notFound),
      FetchFailure: (failure) => Effect.succeed(Observation.failed(failure))
    })
  )

const internalFailure = (app: DesiredApp) =>
  Observation.failed(
    new FetchFailure({
      appId: app.appId,
      reason: "internal",
      status: null,
      message: "internal error of phala-drift while handling this app (see the log)"
    })
  )

/**
 * Observes and diffs one app. A defect (our bug, not the API's answer) anywhere in that costs this app only: it
 * becomes unknown with reason `internal`, and the cycle carries on with the others.
 */
const reportApp = (client: PhalaClientService, app: DesiredApp, options: CycleOptions): Effect.Effect<AppReport> =>
  observe(client, app, options).pipe(
    Effect.flatMap((observation) => Effect.sync(() => diffApp(app, observation))),
    Effect.catchAllDefect((defect) =>
      Effect.logError("internal error while handling app", defect).pipe(
        Effect.as(diffApp(app, internalFailure(app)))
      )
    ),
    Effect.annotateLogs({ app_id: app.appId })
  )

/** One app's report between cycles (a webhook's re-read): the same read and diff as a cycle's, for one app. */
export const observeOne = (app: DesiredApp, options: { readonly deadline: number; readonly previousName?: string }) =>
  Effect.gen(function*() {
    const client = yield* PhalaClient
    const report = yield* reportApp(client, app, { deadline: options.deadline, concurrency: 1 })
    return carryName(options.previousName, report)
  })

/**
 * Observes every app (the client bounds concurrency) and diffs it against its desired state: the snapshot of a
 * cycle, before anything is published.
 */
export const observeAndDiff = Effect.fn("observeAndDiff")(function*(
  apps: ReadonlyArray<DesiredApp>,
  options: CycleOptions
) {
  const client = yield* PhalaClient
  const reports: ReadonlyArray<AppReport> = yield* Effect.forEach(
    apps,
    (app) => reportApp(client, app, options),
    // twice the request bound keeps every permit busy while some apps sit in retry backoff; forking one fiber per
    // app instead would park thousands on the semaphore, whose release wakes every waiter (quadratic per cycle)
    { concurrency: Math.max(1, options.concurrency * 2) }
  )
  const snapshot: Snapshot = { generatedAt: new Date(yield* Clock.currentTimeMillis), apps: carryNames(options.previous, reports) }
  return snapshot
})
