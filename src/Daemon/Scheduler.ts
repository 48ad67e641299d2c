import { Effect, FiberHandle, FiberSet, Layer, Option, Runtime, Schedule, Stream } from "effect"
import * as cron from "node-cron"
import type { PollSchedule } from "../Domain/App.js"
import { Metrics } from "../Metrics/Metrics.js"
import { ConfigStore } from "./ConfigStore.js"
import { Cycle } from "./Cycle.js"

/** Runs cycles one at a time: `trigger` starts one unless one is running, and says which happened. */
export class CycleRunner extends Effect.Service<CycleRunner>()("phala-drift/CycleRunner", {
  scoped: Effect.gen(function*() {
    const cycle = yield* Cycle
    const metrics = yield* Metrics
    const gate = yield* Effect.makeSemaphore(1)
    const fibers = yield* FiberSet.make<void>()
    const guarded = cycle.run.pipe(
      Effect.asVoid,
      // a failed cycle is logged and the schedule goes on
      Effect.catchAllCause((cause) => Effect.logError("reconcile cycle failed", cause))
    )

    /** Start a cycle in the background unless one is running; a skipped tick is counted, not queued. */
    const trigger = Effect.gen(function*() {
      const started = yield* gate.withPermitsIfAvailable(1)(Effect.void)
      if (Option.isNone(started)) {
        yield* metrics.tickSkipped
        yield* Effect.logWarning("previous reconcile cycle still running; tick skipped")
        return false
      }
      yield* FiberSet.run(fibers, gate.withPermits(1)(guarded))
      return true
    })

    /** Run a cycle now and wait for it (after the running one, if any). */
    const runNow = gate.withPermits(1)(cycle.run)

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
