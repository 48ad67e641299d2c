import { Cause, Context, Deferred, Effect, FiberSet, Option, Ref, type Scope } from "effect"
import type { Snapshot } from "../Core/Domain/Report.js"
import { DaemonEvent, Events } from "./Events.js"

export interface CycleTriggerService {
  /** Starts a cycle unless one is running; a tick that finds one running is skipped (counted and logged), never queued. */
  readonly trigger: Effect.Effect<boolean>
  /**
   * The result of the cycle in progress, or of one started now. The cycle runs on a fiber of the daemon's scope: a
   * caller that goes away (a client that disconnects) stops waiting, never the cycle the others wait for.
   */
  readonly runNow: Effect.Effect<Snapshot>
}

/**
 * The one way a cycle starts (scheduled ticks, `POST /-/reconcile`, later webhooks): at most one runs at a time, and
 * whoever asks while one runs gets that one.
 */
export class CycleTrigger extends Context.Tag("phala-drift/CycleTrigger")<CycleTrigger, CycleTriggerService>() {
  static readonly make = (cycle: Effect.Effect<Snapshot>): Effect.Effect<CycleTriggerService, never, Scope.Scope | Events> =>
    Effect.gen(function*() {
      const events = yield* Events
      const fibers = yield* FiberSet.make<void>()
      const running = yield* Ref.make(Option.none<Deferred.Deferred<Snapshot>>())

      // The decision is one atomic Ref.modify: of two callers at the same instant exactly one installs its Deferred
      // and starts the cycle. Uninterruptible, so that no caller leaves a Deferred installed without its cycle.
      const startOrJoin = Effect.uninterruptible(Effect.gen(function*() {
        const mine = yield* Deferred.make<Snapshot>()
        const current = yield* Ref.modify(running, (now) =>
          Option.isSome(now) ? [now.value, now] : [mine, Option.some(mine)])
        if (current !== mine) return { done: current, started: false }
        // interruptible again (a fork inherits the region): shutdown must be able to stop the cycle
        yield* FiberSet.run(fibers, Effect.interruptible(cycle).pipe(
          // logged once here, not by every caller that waited for it; the schedule goes on
          Effect.tapErrorCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("reconcile cycle failed", cause)),
          Effect.onExit((exit) => Ref.set(running, Option.none()).pipe(Effect.zipRight(Deferred.done(mine, exit)))),
          Effect.asVoid
        ))
        return { done: mine, started: true }
      }))

      const trigger = Effect.gen(function*() {
        const { started } = yield* startOrJoin
        if (!started) {
          yield* events.publish(DaemonEvent.TickSkipped())
          yield* Effect.logWarning("previous reconcile cycle still running; tick skipped")
        }
        return started
      })

      const runNow = Effect.flatMap(startOrJoin, ({ done }) => Deferred.await(done))

      return { trigger, runNow }
    })
}
