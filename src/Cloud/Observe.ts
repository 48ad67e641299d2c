import { Clock, Effect } from "effect"
import { PhalaClient, type PhalaClientService } from "./PhalaClient.js"
import { type DaemonConfig, type DesiredApp, type DiscoverySettings, type FetchMode, noDiscovery } from "../Core/Domain/App.js"
import type { AppId } from "../Core/Domain/AppId.js"
import { FetchFailure, Observation } from "../Core/Domain/Observation.js"
import type { AppReport, FleetReading, Snapshot, UnmanagedApp } from "../Core/Domain/Report.js"
import type { Shard } from "../Core/Domain/Shard.js"
import { diffApp } from "../Core/Diff.js"
import { ignoreMatcher, unmanagedApps } from "../Core/Discovery.js"
import { mapSliced } from "../Support/TurnTaking.js"
import { sweepPageSize, sweepWith, type WorkspaceSweep } from "./WorkspaceSweep.js"

export interface CycleOptions {
  /** Epoch ms by which the cycle should be done; retries that would wait past it give up. */
  readonly deadline?: number
  /** The previous cycle's snapshot: apps that cannot be observed keep the name the API gave them then. */
  readonly previous?: Snapshot
  /** Apps observed at once (`api.concurrency`); the client's own semaphore bounds requests in flight. */
  readonly concurrency: number
  /** `api.fetch`; `per_app` when absent. */
  readonly fetch?: FetchMode
  /** `discovery:`; nothing is discovered when absent. */
  readonly discovery?: DiscoverySettings
  /** Every app the desired state declares (not only those read now, with `--app` or a shard): never unmanaged. */
  readonly declared?: ReadonlySet<AppId>
  /** This process's shard: it reports the unmanaged apps whose hash falls to it. */
  readonly shard?: Shard | null
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

const logDefect = (appId: AppId, defect: unknown) =>
  Effect.logError("internal error while handling app", defect).pipe(Effect.annotateLogs({ app_id: appId }))

/**
 * Observes and diffs one app. A defect (our bug, not the API's answer) anywhere in that costs this app only: it
 * becomes unknown with reason `internal`, and the cycle carries on with the others.
 */
const reportApp = (client: PhalaClientService, app: DesiredApp, options: CycleOptions): Effect.Effect<AppReport> =>
  observe(client, app, options).pipe(
    Effect.flatMap((observation) => Effect.sync(() => diffApp(app, observation))),
    // annotated here rather than per read: the client's own logs name the app, and a cycle reads thousands
    Effect.catchAllDefect((defect) =>
      Effect.as(logDefect(app.appId, defect), diffApp(app, internalFailure(app)))
    )
  )

/** One app's report between cycles (a webhook's re-read): the same read and diff as a cycle's, for one app. */
export const observeOne = (app: DesiredApp, options: { readonly deadline: number; readonly previousName?: string }) =>
  Effect.gen(function*() {
    const client = yield* PhalaClient
    const report = yield* reportApp(client, app, { deadline: options.deadline, concurrency: 1 })
    return carryName(options.previousName, report)
  })

/** `api.fetch`, `discovery:` and the shard, as the cycle's reading needs them (`plan` passes the same). */
export const readingOptions = (config: DaemonConfig) => ({
  fetch: config.api.fetch ?? "auto",
  discovery: config.discovery ?? noDiscovery,
  declared: config.sharding?.declared ?? new Set(config.apps.map((a) => a.appId)),
  shard: config.sharding?.shard ?? null
})

/**
 * How the declared apps are read this cycle. `auto` takes whichever costs fewer requests: a sweep costs a request per
 * page of the workspace (its size known from the last sweep), per-app reads one per declared app. Before any sweep, a
 * fleet smaller than one page is read per app (at most 99 requests, and no sweep is needed to know that); a larger one
 * is swept, which measures the workspace for the cycles after. When discovery sweeps anyway, `auto` uses the sweep.
 */
export const chooseReading = (
  mode: FetchMode,
  declared: number,
  workspaceSize: number | null,
  sweptAnyway = false
): "list" | "per_app" => {
  if (mode !== "auto") return mode
  if (declared === 0) return "per_app"
  // discovery pays for the sweep already: its entries cost nothing more
  if (sweptAnyway) return "list"
  if (workspaceSize === null) return declared >= sweepPageSize ? "list" : "per_app"
  return Math.max(1, Math.ceil(workspaceSize / sweepPageSize)) < declared ? "list" : "per_app"
}

/**
 * Declared apps from their list entries, diffed in stretches that give the event loop a turn between them. An app that
 * is not in the sweep (a page failed, or pages shifted under it) or whose entry has no `cvms` array is read on its
 * own: only that read may say `missing_app`. A defect while diffing one app costs that app only, as in `reportApp`.
 */
const reportsFromSweep = (
  client: PhalaClientService,
  apps: ReadonlyArray<DesiredApp>,
  sweep: WorkspaceSweep,
  options: CycleOptions,
  concurrency: { readonly concurrency: number }
) =>
  Effect.gen(function*() {
    const defects: Array<{ readonly appId: AppId; readonly defect: unknown }> = []
    const listed = yield* mapSliced(apps, (app): AppReport | null => {
      const observed = sweep.apps.get(app.appId)?.app ?? null
      if (observed === null) return null
      try {
        return diffApp(app, Observation.found(observed))
      } catch (defect) {
        defects.push({ appId: app.appId, defect })
        return diffApp(app, internalFailure(app))
      }
    })
    for (const { appId, defect } of defects) {
      yield* logDefect(appId, defect)
    }
    const unlisted = apps.filter((_, i) => listed[i] === null)
    const read = yield* Effect.forEach(unlisted, (app) => reportApp(client, app, options), concurrency)
    const reports: Array<AppReport> = []
    let next = 0
    for (const report of listed) {
      const own = report ?? read[next++]
      if (own !== undefined) reports.push(own)
    }
    return reports
  })

/**
 * A page that could not be read hides the unmanaged apps it held: those reported last cycle stay reported (unless
 * now declared or ignored, which `found` already decided for the apps it saw) rather than resolving for a cycle.
 */
const keepUnseen = (
  sweep: WorkspaceSweep,
  found: ReadonlyArray<UnmanagedApp>,
  earlier: ReadonlyArray<UnmanagedApp> | undefined,
  declared: ReadonlySet<AppId>,
  discovery: DiscoverySettings
): ReadonlyArray<UnmanagedApp> => {
  if (sweep.complete || earlier === undefined) return found
  const ignored = ignoreMatcher(discovery.ignore)
  const carried = earlier.filter((app) =>
    !sweep.apps.has(app.appId) && !declared.has(app.appId) && !ignored(app.appId, app.name)
  )
  return carried.length === 0 ? found : [...found, ...carried]
}

/**
 * Observes every app (the client bounds concurrency) and diffs it against its desired state: the snapshot of a
 * cycle, before anything is published. With a sweep (`api.fetch`, or discovery that reports), declared apps come from
 * their list entries where they can, and the apps nobody declared are reported.
 */
export const observeAndDiff = Effect.fn("observeAndDiff")(function*(
  apps: ReadonlyArray<DesiredApp>,
  options: CycleOptions
) {
  const client = yield* PhalaClient
  const lastSize = options.previous?.reading?.workspaceSize ?? null
  const discovering = options.discovery?.unmanaged === "report"
  const reading = chooseReading(options.fetch ?? "per_app", apps.length, lastSize, discovering)
  const sweep = reading === "list" || discovering
    ? yield* sweepWith(client, { deadline: options.deadline, concurrency: options.concurrency })
    : null
  // twice the request bound keeps every permit busy while some apps sit in retry backoff; forking one fiber per
  // app instead would park thousands on the semaphore, whose release wakes every waiter (quadratic per cycle)
  const concurrency = { concurrency: Math.max(1, options.concurrency * 2) }
  const reports: ReadonlyArray<AppReport> = reading === "list" && sweep !== null
    ? yield* reportsFromSweep(client, apps, sweep, options, concurrency)
    : yield* Effect.forEach(apps, (app) => reportApp(client, app, options), concurrency)
  const fleet: FleetReading = {
    fetch: reading,
    workspaceSize: sweep?.total ?? lastSize,
    sweepComplete: sweep?.complete ?? false
  }
  if (sweep !== null && sweep.failures.length > 0) {
    yield* Effect.logWarning(`workspace sweep: ${sweep.failures.length} page(s) could not be read; their declared apps were read one by one`).pipe(
      Effect.annotateLogs({ pages: sweep.failures.map((f) => f.page).join(","), reason: sweep.failures[0]?.reason ?? "" })
    )
  }
  const declared = options.declared ?? new Set(apps.map((a) => a.appId))
  const unmanaged = discovering && sweep !== null && options.discovery !== undefined
    ? keepUnseen(
      sweep,
      unmanagedApps(sweep.apps.values(), declared, options.discovery, options.shard ?? null),
      options.previous?.unmanaged,
      declared,
      options.discovery
    )
    : undefined
  const snapshot: Snapshot = {
    generatedAt: new Date(yield* Clock.currentTimeMillis),
    apps: carryNames(options.previous, reports),
    reading: fleet,
    ...(unmanaged === undefined ? {} : { unmanaged })
  }
  return snapshot
})
