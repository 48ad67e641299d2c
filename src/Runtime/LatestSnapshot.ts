import { Effect, Option, SubscriptionRef } from "effect"
import type { Snapshot } from "../Core/Domain/Report.js"

/**
 * The latest published snapshot: one immutable value, read by HTTP handlers; replaced whole by each publish (a
 * cycle's, or one app's re-read: `Daemon/Publisher.ts`).
 */
export class LatestSnapshot extends Effect.Service<LatestSnapshot>()("phala-drift/LatestSnapshot", {
  effect: Effect.gen(function*() {
    const latest = yield* SubscriptionRef.make(Option.none<Snapshot>())
    return {
      current: SubscriptionRef.get(latest),
      changes: latest.changes,
      publish: (snapshot: Snapshot) => SubscriptionRef.set(latest, Option.some(snapshot))
    } as const
  })
}) {}
