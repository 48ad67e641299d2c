import { describe, expect, it } from "@effect/vitest"
import { Effect, Scheduler } from "effect"
import { SlicedScheduler } from "../../src/Runtime/SlicedScheduler.js"

const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // spin: a step of synchronous work, like decoding a list page
  }
}

/** 100 steps of 2 ms, from fibers resumed together; counts how often a `setImmediate` got a turn meanwhile. */
const burst = (scheduler: Scheduler.Scheduler) =>
  Effect.gen(function*() {
    let turns = 0
    let running = true
    const tick = () => {
      if (!running) return
      turns += 1
      setImmediate(tick)
    }
    setImmediate(tick)
    yield* Effect.forEach(
      Array.from({ length: 10 }),
      () => Effect.forEach(Array.from({ length: 10 }), () => Effect.sync(() => busy(2)).pipe(Effect.zipRight(Effect.yieldNow()))),
      { concurrency: "unbounded", discard: true }
    ).pipe(Effect.withScheduler(scheduler))
    running = false
    return turns
  })

describe("SlicedScheduler", () => {
  it.live("gives the event loop a turn about every slice during a burst of fiber work; the default does not", () =>
    Effect.gen(function*() {
      const sliced = yield* burst(new SlicedScheduler(10))
      const mixed = yield* burst(new Scheduler.MixedScheduler(2048))
      // 200 ms of work in 10 ms slices: about 20 turns (fewer if the machine is slow, never none)
      expect(sliced).toBeGreaterThanOrEqual(5)
      expect(mixed).toBeLessThanOrEqual(1)
    }))

  it.live("runs every task, in order within a fiber", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      yield* Effect.forEach(Array.from({ length: 500 }, (_, i) => i), (i) => Effect.sync(() => seen.push(i)).pipe(Effect.zipRight(Effect.yieldNow())), {
        discard: true
      }).pipe(Effect.withScheduler(new SlicedScheduler(1)))
      expect(seen).toStrictEqual(Array.from({ length: 500 }, (_, i) => i))
    }))
})
