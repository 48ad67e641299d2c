import { Effect, Option, SubscriptionRef } from "effect"
import type { Snapshot } from "../Core/Domain/Report.js"

/** The latest published snapshot: one immutable value per cycle, read by HTTP handlers, metrics and alerts. */
export class DaemonState extends Effect.Service<DaemonState>()("phala-drift/DaemonState", {
  effect: Effect.gen(function*() {
    const latest = yield* SubscriptionRef.make(Option.none<Snapshot>())
    return {
      latest,
      current: SubscriptionRef.get(latest),
      publish: (snapshot: Snapshot) => SubscriptionRef.set(latest, Option.some(snapshot))
    } as const
  })
}) {}
