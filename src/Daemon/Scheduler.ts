import { Effect, FiberSet, Layer, Option, Runtime, Schedule } from "effect"
import * as cron from "node-cron"
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

    /** Run a cycle now and wait for it (waits for a running one to end first). */
    const runNow = gate.withPermits(1)(guarded)

    return { trigger, runNow } as const
  })
}) {}

const cronTask = (expression: string, onTick: () => void) =>
  Effect.acquireRelease(
    Effect.sync(() => cron.schedule(expression, onTick, { noOverlap: false })),
    (task) => Effect.promise(async () => { await task.destroy() })
  )

/** Fires cycles on `poll.interval` (Effect Schedule) or `poll.cron` (node-cron as a scoped resource). */
export const SchedulerLayer = Layer.scopedDiscard(
  Effect.gen(function*() {
    const { poll } = yield* (yield* ConfigStore).current
    const runner = yield* CycleRunner
    if (poll._tag === "Interval") {
      yield* Effect.forkScoped(Effect.repeat(runner.trigger, Schedule.fixed(poll.interval)))
      return
    }
    yield* runner.trigger
    const runtime = yield* Effect.runtime<never>()
    yield* cronTask(poll.expression, () => {
      Runtime.runFork(runtime)(runner.trigger)
    })
  }).pipe(Effect.annotateLogs({ service: "Scheduler" }))
)
