import { Effect, FiberHandle, FiberSet, Layer, Schedule, Stream } from "effect"
import * as cron from "node-cron"
import type { PollSchedule } from "../Core/Domain/App.js"
import { ConfigStore } from "../Runtime/ConfigStore.js"
import { CycleTrigger } from "../Runtime/CycleTrigger.js"

const cronTask = (expression: string, onTick: () => void) =>
  Effect.acquireRelease(
    Effect.sync(() => cron.schedule(expression, onTick)),
    (task) => Effect.promise(async () => { await task.destroy() })
  )

export const pollLoop = (poll: PollSchedule, trigger: Effect.Effect<boolean>) =>
  poll._tag === "Interval"
    ? Effect.repeat(trigger, Schedule.fixed(poll.interval))
    : Effect.scoped(Effect.gen(function*() {
      yield* trigger
      // node-cron calls back outside Effect: each tick runs as a fiber of this loop's scope, so a reload that
      // replaces the schedule, or shutdown, ends it instead of leaving it behind
      const run = yield* FiberSet.makeRuntime<never>()
      yield* cronTask(poll.expression, () => {
        run(trigger)
      })
      return yield* Effect.never
    }))

/**
 * Fires cycles on `poll.interval` (Effect Schedule) or `poll.cron` (node-cron as a scoped resource), through the
 * cycle trigger. Every config change restarts the schedule with an immediate cycle, so a reload shows (and prunes)
 * at once.
 */
export const SchedulerLayer = Layer.scopedDiscard(
  Effect.gen(function*() {
    const store = yield* ConfigStore
    const { trigger } = yield* CycleTrigger
    const loop = yield* FiberHandle.make()
    yield* store.changes.pipe(
      Stream.runForEach((config) => FiberHandle.run(loop, pollLoop(config.poll, trigger))),
      Effect.forkScoped
    )
  }).pipe(Effect.annotateLogs({ service: "Scheduler" }))
)
