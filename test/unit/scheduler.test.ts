import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Fiber, Layer, Redacted, Ref, TestClock } from "effect"
import type { DaemonConfig } from "../../src/Core/Domain/App.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { pollLoop, SchedulerLayer } from "../../src/Daemon/Scheduler.js"
import { ConfigStore } from "../../src/Runtime/ConfigStore.js"
import { CycleTrigger } from "../../src/Runtime/CycleTrigger.js"
import { type DaemonEvent, Events } from "../../src/Runtime/Events.js"

const config = (interval: Duration.Duration): DaemonConfig => ({
  source: "test.yaml",
  api: { url: "http://127.0.0.1:1/api/v1", apiKey: Redacted.make("k"), apiVersion: "2025-10-28", timeout: Duration.seconds(1), retries: 0, concurrency: 1 },
  poll: { _tag: "Interval", interval },
  server: { host: "127.0.0.1", port: 0, lifecycle: false, auth: null, tls: null, phalaWebhook: null },
  stateDir: "./data",
  apps: [],
  alerting: null
})

/** The cycle trigger around `run`, alive for the test's scope, with the events it published. */
const triggerFor = (run: Effect.Effect<Snapshot>) =>
  Effect.gen(function*() {
    const events = yield* Ref.make<ReadonlyArray<DaemonEvent["_tag"]>>([])
    const hub = yield* Events
    yield* hub.subscribe((event) => Ref.update(events, (all) => [...all, event._tag]))
    return { trigger: yield* CycleTrigger.make(run), events }
  }).pipe(Effect.provide(Events.Default))

/** A cycle that takes `took` of test time; its snapshot carries its sequence number as `generatedAt`. */
const numberedCycle = (took: Duration.Duration, runs: Ref.Ref<number>, inFlight?: Ref.Ref<{ now: number; max: number }>) =>
  Effect.gen(function*() {
    const n = yield* Ref.updateAndGet(runs, (r) => r + 1)
    if (inFlight !== undefined) yield* Ref.update(inFlight, ({ max, now }) => ({ now: now + 1, max: Math.max(max, now + 1) }))
    yield* Effect.sleep(took)
    if (inFlight !== undefined) yield* Ref.update(inFlight, ({ max, now }) => ({ now: now - 1, max }))
    return { generatedAt: new Date(n), apps: [] }
  })

const runScheduler = (interval: Duration.Duration, took: Duration.Duration, elapsed: Duration.Duration) =>
  Effect.gen(function*() {
    const runs = yield* Ref.make(0)
    const inFlight = yield* Ref.make({ now: 0, max: 0 })
    const { trigger } = yield* triggerFor(numberedCycle(took, runs, inFlight))
    const fiber = yield* Effect.fork(Layer.launch(SchedulerLayer.pipe(
      Layer.provide(Layer.merge(Layer.succeed(CycleTrigger, trigger), ConfigStore.fixed(config(interval))))
    )))
    for (let t = 0; t < Duration.toSeconds(elapsed); t++) yield* TestClock.adjust(Duration.seconds(1))
    const status = yield* Fiber.poll(fiber)
    if (status._tag === "Some") throw new Error(`scheduler stopped: ${status.value._tag === "Failure" ? Cause.pretty(status.value.cause) : "exited"}`)
    yield* Fiber.interrupt(fiber)
    return { runs: yield* Ref.get(runs), maxInFlight: (yield* Ref.get(inFlight)).max }
  })

describe("SchedulerLayer", () => {
  it.scoped("runs a cycle at once and then every interval", () =>
    Effect.gen(function*() {
      const { maxInFlight, runs } = yield* runScheduler(Duration.seconds(10), Duration.seconds(1), Duration.seconds(35))
      // cycles start at 0, 10, 20, 30 s and take 1 s each
      expect(runs).toBe(4)
      expect(maxInFlight).toBe(1)
    }))

  it.scoped("never runs two cycles at once: an overrunning cycle skips ticks instead of piling them up", () =>
    Effect.gen(function*() {
      const { maxInFlight, runs } = yield* runScheduler(Duration.seconds(10), Duration.seconds(25), Duration.seconds(61))
      // 0-25 s (ticks at 10 and 20 skipped), 30-55 s (ticks at 40 and 50 skipped), 60 s started but not finished
      expect(runs).toBe(3)
      expect(maxInFlight).toBe(1)
    }))

  it.live("a cron tick runs as a fiber of the schedule's scope: replacing the schedule (or shutdown) ends it", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const tickStarted = yield* Deferred.make<void>()
      const tickInterrupted = yield* Deferred.make<void>()
      // the schedule's own first trigger returns at once; the cron ticks after it hang until interrupted
      const trigger = Effect.flatMap(Ref.getAndUpdate(calls, (n) => n + 1), (n) =>
        n === 0 ? Effect.succeed(true) : Deferred.succeed(tickStarted, undefined).pipe(
          Effect.zipRight(Effect.never),
          Effect.onInterrupt(() => Deferred.succeed(tickInterrupted, undefined))
        ))
      const loop = yield* Effect.fork(pollLoop({ _tag: "Cron", expression: "* * * * * *" }, trigger))
      yield* Deferred.await(tickStarted).pipe(Effect.timeout("5 seconds"))
      yield* Fiber.interrupt(loop)
      expect(yield* Deferred.isDone(tickInterrupted)).toBe(true)
    }))
})

describe("CycleTrigger", () => {
  it.scoped("two triggers at the same instant start one cycle; the other tick is skipped and counted", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const { events, trigger } = yield* triggerFor(numberedCycle(Duration.seconds(10), runs))
      const started = yield* Effect.all([trigger.trigger, trigger.trigger], { concurrency: "unbounded" })
      yield* TestClock.adjust(Duration.seconds(30))
      expect([...started].sort()).toEqual([false, true])
      expect(yield* Ref.get(runs)).toBe(1)
      expect(yield* Ref.get(events)).toEqual(["TickSkipped"])
    }))

  it.scoped("coalesces: requests while a cycle runs join it and get its result; at most one runs at a time", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const { trigger: runner } = yield* triggerFor(numberedCycle(Duration.seconds(10), runs))
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
      const { trigger: runner } = yield* triggerFor(numberedCycle(Duration.seconds(10), runs))
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
      const dying = Effect.gen(function*() {
        const n = yield* Ref.updateAndGet(runs, (r) => r + 1)
        yield* Effect.sleep(Duration.seconds(10))
        if (n === 1) return yield* Effect.die(new Error("bug"))
        return { generatedAt: new Date(n), apps: [] }
      })
      const { trigger: runner } = yield* triggerFor(dying)
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
