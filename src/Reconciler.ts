import { Clock, Effect } from "effect"
import { PhalaClient, type PhalaClientService } from "./Cloud/PhalaClient.js"
import type { DesiredApp } from "./Domain/App.js"
import { FetchFailure, Observation } from "./Domain/Observation.js"
import type { AppReport, Snapshot } from "./Domain/Report.js"
import { diffApp } from "./Diff.js"

export interface CycleOptions {
  /** Epoch ms by which the cycle should be done; retries that would wait past it give up. */
  readonly deadline?: number
}

const observe = (client: PhalaClientService, app: DesiredApp, options: CycleOptions) =>
  client.getApp(app.appId, options.deadline === undefined ? {} : { deadline: options.deadline }).pipe(
    Effect.map(Observation.found),
    Effect.catchTags({
      AppNotFound: () => Effect.succeed(Observation.notFound),
      FetchFailure: (failure) => Effect.succeed(Observation.failed(failure))
    }),
    // A bug while handling one app must not cost the whole cycle: that app becomes unknown.
    Effect.catchAllDefect((defect) =>
      Effect.logError("unexpected failure while observing app", defect).pipe(
        Effect.as(Observation.failed(
          new FetchFailure({ appId: app.appId, reason: "bad_response", status: null, message: "internal error while reading the response" })
        ))
      )
    ),
    Effect.annotateLogs({ app_id: app.appId })
  )

/** One reconcile cycle: observe every app (the client bounds concurrency) and diff it against its desired state. */
export const reconcile = Effect.fn("Reconciler.reconcile")(function*(
  apps: ReadonlyArray<DesiredApp>,
  options: CycleOptions = {}
) {
  const client = yield* PhalaClient
  const reports: ReadonlyArray<AppReport> = yield* Effect.forEach(
    apps,
    (app) => observe(client, app, options).pipe(Effect.map((observation) => diffApp(app, observation))),
    { concurrency: "unbounded" }
  )
  const snapshot: Snapshot = { generatedAt: new Date(yield* Clock.currentTimeMillis), apps: reports }
  return snapshot
})
