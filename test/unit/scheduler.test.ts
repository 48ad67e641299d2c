import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Duration, Effect, Fiber, Layer, Ref, TestClock } from "effect"
import { ConfigStore } from "../../src/Daemon/ConfigStore.js"
import { Cycle } from "../../src/Daemon/Cycle.js"
import { CycleRunner, SchedulerLayer } from "../../src/Daemon/Scheduler.js"
import type { DaemonConfig } from "../../src/Core/Domain/App.js"
import { Metrics } from "../../src/Metrics/Metrics.js"
import { Redacted } from "effect"

const config = (interval: Duration.Duration): DaemonConfig => ({
  source: "test.yaml",
  api: { url: "http://127.0.0.1:1/api/v1", apiKey: Redacted.make("k"), apiVersion: "2025-10-28", timeout: Duration.seconds(1), retries: 0, concurrency: 1 },
  poll: { _tag: "Interval", interval },
  server: { host: "127.0.0.1", port: 0, lifecycle: false, auth: null, tls: null },
  stateDir: "./data",
  apps: [],
  alerting: null
})

/** A cycle that takes `took` of (test) time and counts how often it ran and how many ran at once. */
const fakeCycle = (took: Duration.Duration, runs: Ref.Ref<number>, inFlight: Ref.Ref<number>, maxInFlight: Ref.Ref<number>) =>
  Layer.succeed(Cycle, Cycle.make({
    run: Effect.gen(function*() {
      const now = yield* Ref.updateAndGet(inFlight, (n) => n + 1)
      yield* Ref.update(maxInFlight, (m) => Math.max(m, now))
      yield* Effect.sleep(took)
      yield* Ref.update(inFlight, (n) => n - 1)
      yield* Ref.update(runs, (n) => n + 1)
      return { generatedAt: new Date(0), apps: [] }
    })
  }))

const run = (interval: Duration.Duration, took: Duration.Duration, elapsed: Duration.Duration) =>
  Effect.gen(function*() {
    const runs = yield* Ref.make(0)
    const inFlight = yield* Ref.make(0)
    const maxInFlight = yield* Ref.make(0)
    const layer = SchedulerLayer.pipe(
      Layer.provideMerge(CycleRunner.Default),
      Layer.provide(Layer.mergeAll(fakeCycle(took, runs, inFlight, maxInFlight), Metrics.Default, ConfigStore.fixed(config(interval))))
    )
    const fiber = yield* Effect.fork(Layer.launch(layer))
    // the metrics layer renders through a real promise: let real time pass between steps of the test clock
    const settle = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    yield* settle
    for (let t = 0; t < Duration.toSeconds(elapsed); t++) {
      yield* TestClock.adjust(Duration.seconds(1))
      yield* settle
    }
    const status = yield* Fiber.poll(fiber)
    if (status._tag === "Some") throw new Error(`scheduler stopped: ${status.value._tag === "Failure" ? Cause.pretty(status.value.cause) : "exited"}`)
    const result = { runs: yield* Ref.get(runs), maxInFlight: yield* Ref.get(maxInFlight) }
    yield* Fiber.interrupt(fiber)
    return result
  })

describe("SchedulerLayer", () => {
  it.effect("runs a cycle at once and then every interval", () =>
    Effect.gen(function*() {
      const { maxInFlight, runs } = yield* run(Duration.seconds(10), Duration.seconds(1), Duration.seconds(35))
      // cycles start at 0, 10, 20, 30 s and take 1 s each
      expect(runs).toBe(4)
      expect(maxInFlight).toBe(1)
    }))

  it.effect("never runs two cycles at once: an overrunning cycle skips ticks instead of piling them up", () =>
    Effect.gen(function*() {
      const { maxInFlight, runs } = yield* run(Duration.seconds(10), Duration.seconds(25), Duration.seconds(61))
      // 0-25 s (ticks at 10 and 20 skipped), 30-55 s (ticks at 40 and 50 skipped), 60 s started but not finished
      expect(runs).toBe(2)
      expect(maxInFlight).toBe(1)
    }))
})

describe("CycleRunner", () => {
  /** A cycle that takes `took` of test time; its snapshot carries its sequence number as `generatedAt`. */
  const numberedCycle = (took: Duration.Duration, runs: Ref.Ref<number>) =>
    Layer.succeed(Cycle, Cycle.make({
      run: Effect.gen(function*() {
        const n = yield* Ref.updateAndGet(runs, (r) => r + 1)
        yield* Effect.sleep(took)
        return { generatedAt: new Date(n), apps: [] }
      })
    }))

  /** The runner, alive for the test's scope. */
  const makeRunner = (runs: Ref.Ref<number>) =>
    Layer.build(CycleRunner.Default.pipe(Layer.provide(Layer.merge(numberedCycle(Duration.seconds(10), runs), Metrics.Default)))).pipe(
      Effect.map((context) => Context.get(context, CycleRunner))
    )

  it.scoped("coalesces: requests while a cycle runs join it and get its result; at most one runs at a time", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const runner = yield* makeRunner(runs)
      const burst = yield* Effect.fork(Effect.all(Array.from({ length: 200 }, () => runner.runNow), { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.seconds(1))
      // a scheduled tick meanwhile is skipped, not queued
      expect(yield* runner.trigger).toBe(false)
      yield* TestClock.adjust(Duration.seconds(9))
      const results = yield* Fiber.join(burst)
      expect(new Set(results.map((s) => s.generatedAt.getTime()))).toEqual(new Set([1]))
      expect(yield* Ref.get(runs)).toBe(1)

      // once it has finished, the next request starts a new cycle
      const next = yield* Effect.fork(runner.runNow)
      yield* TestClock.adjust(Duration.seconds(10))
      expect((yield* Fiber.join(next)).generatedAt.getTime()).toBe(2)
      expect(yield* Ref.get(runs)).toBe(2)
    }))

  it.scoped("a request that goes away does not cancel the cycle the others wait for", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const runner = yield* makeRunner(runs)
      const leaver = yield* Effect.fork(runner.runNow)
      const stayer = yield* Effect.fork(runner.runNow)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.interrupt(leaver)
      yield* TestClock.adjust(Duration.seconds(9))
      expect((yield* Fiber.join(stayer)).generatedAt.getTime()).toBe(1)
      expect(yield* Ref.get(runs)).toBe(1)
    }))

  it.scoped("a cycle that dies fails everyone waiting on it, and the next request starts a new one", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const dying = Layer.succeed(Cycle, Cycle.make({
        run: Effect.gen(function*() {
          const n = yield* Ref.updateAndGet(runs, (r) => r + 1)
          yield* Effect.sleep(Duration.seconds(10))
          if (n === 1) return yield* Effect.die(new Error("bug"))
          return { generatedAt: new Date(n), apps: [] }
        })
      }))
      const runner = Context.get(yield* Layer.build(CycleRunner.Default.pipe(Layer.provide(Layer.merge(dying, Metrics.Default)))), CycleRunner)
      const waiters = yield* Effect.fork(Effect.all([Effect.exit(runner.runNow), Effect.exit(runner.runNow)], { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.seconds(10))
      const exits = yield* Fiber.join(waiters)
      expect(exits.map((e) => e._tag === "Failure" && Cause.isDie(e.cause))).toEqual([true, true])
      expect(yield* Ref.get(runs)).toBe(1)

      const next = yield* Effect.fork(runner.runNow)
      yield* TestClock.adjust(Duration.seconds(10))
      expect((yield* Fiber.join(next)).generatedAt.getTime()).toBe(2)
    }))
})
