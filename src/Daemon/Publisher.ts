import { Clock, Effect, Option } from "effect"
import { Alerting } from "../Alerts/Alerting.js"
import type { AppReport, Snapshot } from "../Core/Domain/Report.js"
import { Metrics } from "../Metrics/Metrics.js"
import { fleetViewOf, noFilter } from "../Http/StatusPage.js"
import { LatestSnapshot } from "../Runtime/LatestSnapshot.js"
import { loopTurn } from "../Support/TurnTaking.js"

/** When a cycle started and finished observing (epoch ms), for its duration and phases. */
export interface CycleTiming {
  readonly startedAt: number
  readonly observedAt: number
}

/**
 * Publishing a snapshot is one step that nothing cuts in half: alerts are evaluated (notifications queued and the
 * alert state saved), the metrics recorded and rendered, and the snapshot made the latest, in that order and
 * uninterruptibly; publishes run one at a time. `publishApp` does the same for one app's new report between cycles.
 */
export class Publisher extends Effect.Service<Publisher>()("phala-drift/Publisher", {
  effect: Effect.gen(function*() {
    const alerting = yield* Alerting
    const metrics = yield* Metrics
    const latest = yield* LatestSnapshot
    const lock = yield* Effect.makeSemaphore(1)

    // the status page's fleet view (order, counts, the first page's apps section rendered and encoded, the label
    // choices) is made with the snapshot, so that no visitor pays for it: people land on the first page, and the views
    // of other pages and filters are made when first asked for
    const prepareStatusPage = Effect.flatMap(latest.timeline, (timeline) =>
      Option.match(timeline, {
        onNone: () => Effect.void,
        onSome: ({ moments, snapshot }) =>
          Effect.sync(() => {
            const view = fleetViewOf(snapshot, moments)
            view.section(noFilter, 1, true)
            view.labelOptions()
          })
      }))

    const publishSnapshot = (snapshot: Snapshot, timing: CycleTiming) =>
      Effect.gen(function*() {
        // each step goes over the whole fleet (10-40 ms at 10,000 apps): a turn of the event loop between them lets
        // scrapes, the page and webhooks in, instead of holding them for the sum
        const alertsStarted = yield* Clock.currentTimeMillis
        yield* alerting.onSnapshot(snapshot)
        const alertsDone = yield* Clock.currentTimeMillis
        yield* loopTurn
        yield* metrics.record(snapshot, {
          startedAt: timing.startedAt,
          phases: { observe: timing.observedAt - timing.startedAt, alerts: alertsDone - alertsStarted }
        })
        yield* loopTurn
        yield* latest.publish(snapshot)
        yield* loopTurn
        yield* prepareStatusPage
      })

    const publish = (snapshot: Snapshot, timing: CycleTiming): Effect.Effect<void> =>
      Effect.uninterruptible(lock.withPermits(1)(publishSnapshot(snapshot, timing)))

    /**
     * The latest snapshot with each of `reports` in place of its app's (reports of apps not in it are left out);
     * nothing before the first cycle or when none is in it. Those apps' work only: their alerts are evaluated again,
     * the metric store re-renders their series in one publish, the snapshot and timeline replace their entries.
     */
    const publishApps = (reports: ReadonlyArray<AppReport>): Effect.Effect<Option.Option<Snapshot>> =>
      Effect.uninterruptible(lock.withPermits(1)(Effect.gen(function*() {
        const present: Array<AppReport> = []
        for (const report of reports) if (yield* latest.holds(report.appId)) present.push(report)
        if (present.length === 0) return Option.none()
        const now = yield* Clock.currentTimeMillis
        yield* alerting.onApps(present)
        yield* metrics.recordApps(present, now)
        const published = yield* latest.publishApps(present, now, true)
        yield* prepareStatusPage
        return published
      })))

    const publishApp = (report: AppReport): Effect.Effect<Option.Option<Snapshot>> => publishApps([report])

    return { publish, publishApp, publishApps } as const
  }),
  dependencies: [Alerting.Default, Metrics.Default, LatestSnapshot.Default]
}) {}
