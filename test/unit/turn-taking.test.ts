import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { makeTurnTaking, mapSliced } from "../../src/Support/TurnTaking.js"

const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until);
}

describe("mapSliced", () => {
  it.live("maps in order, and a timer due meanwhile runs between stretches, not after the whole loop", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      setTimeout(() => seen.push("timer"), 0)
      const out = yield* mapSliced(Array.from({ length: 40 }, (_, i) => i), (i) => {
        busy(1)
        seen.push(`item ${i}`)
        return i * 2
      }, 5)
      expect(out).toStrictEqual(Array.from({ length: 40 }, (_, i) => i * 2))
      const timer = seen.indexOf("timer")
      expect(timer).toBeGreaterThan(0)
      expect(timer).toBeLessThan(20)
    }))

  it.live("a throwing item is a defect of the whole map; an interrupted map stops", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(mapSliced([1, 2, 3], (i) => {
        if (i === 2) throw new RangeError("boom")
        return i
      }))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      let done = 0
      const fiber = yield* Effect.fork(mapSliced(Array.from({ length: 1000 }, (_, i) => i), () => {
        busy(1)
        done += 1
      }, 2))
      yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(fiber)
      const stopped = done
      yield* Effect.sleep("20 millis")
      expect(done).toBe(stopped)
      expect(done).toBeLessThan(1000)
    }))
})

describe("makeTurnTaking", () => {
  it.live("runs queued jobs in order, a slice of about sliceMs per turn of the loop, timers due running between", () =>
    Effect.gen(function*() {
      const takeTurn = makeTurnTaking(4)
      const seen: Array<string> = []
      const jobs = Array.from({ length: 6 }, (_, i) => takeTurn(() => {
        busy(3)
        seen.push(`job ${i}`)
        return i
      }))
      setTimeout(() => seen.push("timer"), 1)
      const results = yield* Effect.all(jobs, { concurrency: "unbounded" })
      expect(results).toStrictEqual([0, 1, 2, 3, 4, 5])
      expect(seen.filter((s) => s.startsWith("job"))).toStrictEqual(["job 0", "job 1", "job 2", "job 3", "job 4", "job 5"])
      // a turn stops once past 4 ms (two jobs): the timer came before the third job at the latest, not after all six
      expect(seen.indexOf("timer")).toBeGreaterThanOrEqual(0)
      expect(seen.indexOf("timer")).toBeLessThanOrEqual(2)
    }))

  it.live("a job that throws is a defect of its caller only", () =>
    Effect.gen(function*() {
      const takeTurn = makeTurnTaking()
      const [bad, good] = yield* Effect.all([
        Effect.exit(takeTurn(() => {
          throw new RangeError("boom")
        })),
        takeTurn(() => "fine")
      ], { concurrency: "unbounded" })
      expect(bad !== undefined && Exit.isFailure(bad) && Cause.isDie(bad.cause)).toBe(true)
      expect(good).toBe("fine")
    }))
})
