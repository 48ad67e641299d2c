import { Effect, Option, Ref, SubscriptionRef } from "effect"
import type { Snapshot } from "../Core/Domain/Report.js"
import { advanceTimeline, type AppTimeline } from "./AppTimeline.js"

/**
 * The latest published snapshot: one immutable value, read by HTTP handlers; replaced whole by each publish (a
 * cycle's, or one app's re-read: `Daemon/Publisher.ts`). With it, the timeline of every app (when it last turned
 * out of sync, when it was last observed), advanced by each publish and kept in memory only.
 */
export class LatestSnapshot extends Effect.Service<LatestSnapshot>()("phala-drift/LatestSnapshot", {
  effect: Effect.gen(function*() {
    const latest = yield* SubscriptionRef.make(Option.none<Snapshot>())
    const timeline = yield* Ref.make(Option.none<AppTimeline>())
    return {
      current: SubscriptionRef.get(latest),
      /** The latest snapshot together with the moments of its apps (one value, so the two always match). */
      timeline: Ref.get(timeline),
      changes: latest.changes,
      /** `refreshedByEvent`: the app whose webhook-triggered re-read made this snapshot, if that is what it is. */
      publish: (snapshot: Snapshot, refreshedByEvent: string | null = null) =>
        Ref.update(timeline, (previous) => Option.some(advanceTimeline(Option.getOrNull(previous), snapshot, refreshedByEvent))).pipe(
          Effect.zipRight(SubscriptionRef.set(latest, Option.some(snapshot)))
        )
    } as const
  })
}) {}
