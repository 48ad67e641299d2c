import { Effect, Option, Ref, SubscriptionRef } from "effect"
import type { AppReport, Snapshot } from "../Core/Domain/Report.js"
import { advanceTimelineApp, advanceTimelineSliced, type AppTimeline } from "./AppTimeline.js"

/** The published snapshot with where each app sits in it, so that one app's report is replaced without a search. */
interface Published {
  readonly timeline: AppTimeline
  readonly index: ReadonlyMap<string, number>
}

const indexOf = (snapshot: Snapshot): ReadonlyMap<string, number> => new Map(snapshot.apps.map((app, i) => [app.appId, i]))

/**
 * The latest published snapshot: one immutable value, read by HTTP handlers; replaced whole by each cycle's publish,
 * or with one app's report swapped in by a re-read between cycles (`Daemon/Publisher.ts`). With it, the timeline of
 * every app (when it last turned out of sync, when it was last observed), advanced by each publish and kept in
 * memory only.
 */
export class LatestSnapshot extends Effect.Service<LatestSnapshot>()("phala-drift/LatestSnapshot", {
  effect: Effect.gen(function*() {
    const latest = yield* SubscriptionRef.make(Option.none<Snapshot>())
    const published = yield* Ref.make(Option.none<Published>())
    /**
     * The latest snapshot with each of `reports` in place of its app's, dated `at` (epoch ms), made the latest;
     * reports of apps not in it are left out, and nothing happens before the first publish or when none is in it.
     * Costs those apps' work plus a copy of the array of reports.
     */
    const publishApps = (reports: ReadonlyArray<AppReport>, at: number, refreshedByEvent: boolean): Effect.Effect<Option.Option<Snapshot>> =>
      Effect.flatMap(Ref.modify(published, (previous): [Option.Option<Snapshot>, Option.Option<Published>] => {
          if (Option.isNone(previous)) return [Option.none(), previous]
          const { index } = previous.value
          const present = reports.filter((report) => index.has(report.appId))
          if (present.length === 0) return [Option.none(), previous]
          const before = previous.value.timeline
          const apps = before.snapshot.apps.slice()
          for (const report of present) apps[index.get(report.appId) ?? 0] = report
          // the rest of the cycle's snapshot (unmanaged apps, how the fleet was read) stays as the cycle found it
          const snapshot: Snapshot = { ...before.snapshot, generatedAt: new Date(at), apps }
          let timeline = before
          for (const report of present) timeline = advanceTimelineApp(timeline, snapshot, report, refreshedByEvent)
          return [Option.some(snapshot), Option.some({ index, timeline })]
        }), (made): Effect.Effect<Option.Option<Snapshot>> =>
          Option.isNone(made) ? Effect.succeed(made) : Effect.as(SubscriptionRef.set(latest, made), made))
    return {
      current: SubscriptionRef.get(latest),
      /** The latest snapshot together with the moments of its apps (one value, so the two always match). */
      timeline: Effect.map(Ref.get(published), Option.map((p) => p.timeline)),
      changes: latest.changes,
      /**
       * `refreshedByEvent`: the app whose webhook-triggered re-read made this snapshot, if that is what it is.
       * Publishes come one at a time (the Publisher's lock): the timeline is advanced in steps, then swapped in.
       */
      publish: (snapshot: Snapshot, refreshedByEvent: string | null = null) =>
        Ref.get(published).pipe(
          Effect.flatMap((previous) =>
            advanceTimelineSliced(Option.getOrNull(Option.map(previous, (p) => p.timeline)), snapshot, refreshedByEvent)
          ),
          Effect.flatMap((timeline) => Ref.set(published, Option.some({ timeline, index: indexOf(snapshot) }))),
          Effect.zipRight(SubscriptionRef.set(latest, Option.some(snapshot)))
        ),
      publishApps,
      /** The report of `appId` in the latest snapshot, found by index. */
      report: (appId: string): Effect.Effect<Option.Option<AppReport>> =>
        Effect.map(Ref.get(published), (p) =>
          Option.flatMap(p, ({ index, timeline }) => {
            const position = index.get(appId)
            return Option.fromNullable(position === undefined ? undefined : timeline.snapshot.apps[position])
          })),
      /** Whether `appId` is in the latest snapshot. */
      holds: (appId: string): Effect.Effect<boolean> =>
        Effect.map(Ref.get(published), (p) => Option.isSome(p) && p.value.index.has(appId))
    } as const
  })
}) {}
