import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { makePermits } from "../../src/Support/Permits.js"

describe("Permits", () => {
  it.effect("runs at most `count` effects at once, and all of them in the end", () =>
    Effect.gen(function*() {
      const permits = yield* makePermits(3)
      let running = 0
      let most = 0
      const job = permits.withPermit(Effect.gen(function*() {
        running += 1
        most = Math.max(most, running)
        yield* Effect.yieldNow()
        yield* Effect.yieldNow()
        running -= 1
      }))
      yield* Effect.forEach(Array.from({ length: 40 }), () => job, { concurrency: "unbounded" })
      expect(most).toBe(3)
      expect(running).toBe(0)
    }))

  it.effect("hands a released permit to the longest waiter", () =>
    Effect.gen(function*() {
      const permits = yield* makePermits(1)
      const gate = yield* Deferred.make<void>()
      const order: Array<number> = []
      const holder = yield* Effect.fork(permits.withPermit(Deferred.await(gate)))
      yield* Effect.yieldNow()
      const waiters = yield* Effect.forEach([1, 2, 3, 4], (n) =>
        Effect.fork(permits.withPermit(Effect.sync(() => order.push(n)))).pipe(Effect.zipLeft(Effect.yieldNow())))
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      yield* Effect.forEach(waiters, Fiber.join)
      expect(order).toStrictEqual([1, 2, 3, 4])
    }))

  it.effect("a waiter interrupted before its turn gives up its place; one interrupted while holding releases", () =>
    Effect.gen(function*() {
      const permits = yield* makePermits(1)
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(permits.withPermit(Deferred.await(gate)))
      yield* Effect.yieldNow()
      const gaveUp = yield* Effect.fork(permits.withPermit(Effect.void))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(gaveUp)
      yield* Fiber.interrupt(holder)
      // both permits' worth of turns are back: two more run one after the other
      const ran = yield* Effect.forEach([1, 2], (n) => permits.withPermit(Effect.succeed(n)))
      expect(ran).toStrictEqual([1, 2])
    }))

  it.live("a permit granted to a fiber interrupted before it runs is passed on, not lost", () =>
    Effect.gen(function*() {
      const permits = yield* makePermits(1)
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(permits.withPermit(Deferred.await(gate)))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(permits.withPermit(Effect.never))
      yield* Effect.yieldNow()
      // release (granting the waiter) and interrupt the waiter in the same step
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.interrupt(waiter)
      yield* Fiber.join(holder)
      const after = yield* permits.withPermit(Effect.succeed("ran")).pipe(Effect.timeout("1 second"), Effect.exit)
      expect(Exit.isSuccess(after)).toBe(true)
    }))
})
