import { Cause, Deferred, Effect, FiberHandle, FiberSet, Layer, Option, Ref, Runtime, Schedule, Stream } from "effect"
import * as cron from "node-cron"
import type { PollSchedule } from "../Core/Domain/App.js"
import type { Snapshot } from "../Core/Domain/Report.js"
import { Metrics } from "../Metrics/Metrics.js"
import { ConfigStore } from "./ConfigStore.js"
import { Cycle } from "./Cycle.js"

/**
 * Runs cycles one at a time. Whoever asks for a cycle while one runs gets that one: a scheduled tick is skipped,
 * a `POST /-/reconcile` waits for it and returns its result, so a burst of requests costs one cycle, not one each.
 */
export class CycleRunner extends Effect.Service<CycleRunner>()("phala-drift/CycleRunner", {
  scoped: Effect.gen(function*() {
    const cycle = yield* Cycle
    const metrics = yield* Metrics
    const fibers = yield* FiberSet.make<void>()
    const current = yield* Ref.make(Option.none<Deferred.Deferred<Snapshot>>())
    const lock = yield* Effect.makeSemaphore(1)

    /** The cycle in progress, or a new one started in the background (it outlives a caller that goes away). */
    const startOrJoin = lock.withPermits(1)(Effect.gen(function*() {
      const running = yield* Ref.get(current)
      if (Option.isSome(running)) return { done: running.value, started: false }
      const done = yield* Deferred.make<Snapshot>()
      yield* Ref.set(current, Option.some(done))
      yield* FiberSet.run(fibers, cycle.run.pipe(
        // logged once here, not by every caller that waited for it; the schedule goes on
        Effect.tapErrorCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("reconcile cycle failed", cause)),
        Effect.onExit((exit) => Ref.set(current, Option.none()).pipe(Effect.zipRight(Deferred.done(done, exit)))),
        Effect.asVoid
      ))
      return { done, started: true }
    }))

    /** Start a cycle unless one is running; a skipped tick is counted, not queued. */
    const trigger = Effect.gen(function*() {
      const { started } = yield* startOrJoin
      if (!started) {
        yield* metrics.tickSkipped
        yield* Effect.logWarning("previous reconcile cycle still running; tick skipped")
      }
      return started
    })

    /** The result of the cycle in progress, or of one started now. */
    const runNow = Effect.flatMap(startOrJoin, ({ done }) => Deferred.await(done))

    return { trigger, runNow } as const
  })
}) {}

const cronTask = (expression: string, onTick: () => void) =>
  Effect.acquireRelease(
    Effect.sync(() => cron.schedule(expression, onTick)),
    (task) => Effect.promise(async () => { await task.destroy() })
  )

const pollLoop = (poll: PollSchedule, trigger: Effect.Effect<boolean>) =>
  poll._tag === "Interval"
    ? Effect.repeat(trigger, Schedule.fixed(poll.interval))
    : Effect.scoped(Effect.gen(function*() {
      yield* trigger
      const runtime = yield* Effect.runtime<never>()
      yield* cronTask(poll.expression, () => {
        Runtime.runFork(runtime)(trigger)
      })
      return yield* Effect.never
    }))

/**
 * Fires cycles on `poll.interval` (Effect Schedule) or `poll.cron` (node-cron as a scoped resource). Every config
 * change restarts the schedule with an immediate cycle, so a reload shows (and prunes) at once.
 */
export const SchedulerLayer = Layer.scopedDiscard(
  Effect.gen(function*() {
    const store = yield* ConfigStore
    const runner = yield* CycleRunner
    const loop = yield* FiberHandle.make()
    yield* store.changes.pipe(
      Stream.runForEach((config) => FiberHandle.run(loop, pollLoop(config.poll, runner.trigger))),
      Effect.forkScoped
    )
  }).pipe(Effect.annotateLogs({ service: "Scheduler" }))
)
