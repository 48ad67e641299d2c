import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { Alerting } from "../../src/Alerts/Alerting.js"
import { Observation } from "../../src/Core/Domain/Observation.js"
import type { AppReport, Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { Freshness } from "../../src/Daemon/Freshness.js"
import { Publisher } from "../../src/Daemon/Publisher.js"
import { Metrics } from "../../src/Metrics/Metrics.js"
import { AlertsView } from "../../src/Runtime/AlertsView.js"
import { Events } from "../../src/Runtime/Events.js"
import { LatestSnapshot } from "../../src/Runtime/LatestSnapshot.js"
import { APP_ID, cvm, desiredApp, observedApp } from "../support/builders.js"

const OTHER = "1111111111111111111111111111111111111111"

const quietAlerting = Layer.effect(Alerting, Effect.map(AlertsView, (view) =>
  Alerting.make({ onSnapshot: () => Effect.void, onApps: () => Effect.void, view, current: Effect.succeed(new Map()) }))).pipe(Layer.provide(AlertsView.Disabled))

const layer = Freshness.DefaultWithoutDependencies.pipe(
  Layer.provideMerge(Publisher.DefaultWithoutDependencies),
  Layer.provideMerge(Layer.mergeAll(quietAlerting, Metrics.DefaultWithoutDependencies, LatestSnapshot.Default)),
  Layer.provideMerge(Events.Default)
)

const report = (appId: string, status: string): AppReport =>
  diffApp(desiredApp({ appId }), Observation.found(observedApp([cvm({ status })], { appId })))

const fleet = (status: string): Snapshot => ({ generatedAt: new Date(0), apps: [report(APP_ID, status), report(OTHER, "running")] })

const statusOf = (snapshot: Option.Option<Snapshot>, appId: string) =>
  Option.getOrThrow(snapshot).apps.find((a) => a.appId === appId)?.cvms[0]?.status

describe("Freshness: a cycle and a re-read never publish an older observation over a newer one", () => {
  it.effect("a re-read that began before the last published cycle is dropped", () =>
    Effect.gen(function*() {
      const freshness = yield* Freshness
      const latest = yield* LatestSnapshot
      yield* freshness.publishCycle(fleet("running"), { startedAt: 2_000, observedAt: 2_500 })
      expect(yield* freshness.publishApp(report(APP_ID, "stopped"), 1_500)).toBe("superseded")
      expect(statusOf(yield* latest.current, APP_ID)).toBe("running")
      expect(yield* freshness.publishApp(report(APP_ID, "stopped"), 2_100)).toBe("published")
      expect(statusOf(yield* latest.current, APP_ID)).toBe("stopped")
      expect([...(yield* freshness.lastEventRefresh).keys()]).toEqual([APP_ID])
    }).pipe(Effect.provide(layer)))

  it.effect("a cycle that began before a published re-read keeps the re-read's report of that app, and only that", () =>
    Effect.gen(function*() {
      const freshness = yield* Freshness
      const latest = yield* LatestSnapshot
      yield* freshness.publishCycle(fleet("running"), { startedAt: 1_000, observedAt: 1_100 })
      expect(yield* freshness.publishApp(report(APP_ID, "stopped"), 3_000)).toBe("published")
      // this cycle started at 2 s, read the app before it stopped, and finishes after the re-read
      const published = yield* freshness.publishCycle(
        { generatedAt: new Date(4_000), apps: [report(APP_ID, "running"), report(OTHER, "stopped")] },
        { startedAt: 2_000, observedAt: 3_900 }
      )
      expect(statusOf(Option.some(published), APP_ID)).toBe("stopped")
      expect(statusOf(yield* latest.current, APP_ID)).toBe("stopped")
      expect(statusOf(yield* latest.current, OTHER)).toBe("stopped")
      // a later cycle's observation wins again
      yield* freshness.publishCycle(fleet("running"), { startedAt: 5_000, observedAt: 5_100 })
      expect(statusOf(yield* latest.current, APP_ID)).toBe("running")
    }).pipe(Effect.provide(layer)))

  it.effect("before the first cycle there is nothing to put a re-read into", () =>
    Effect.gen(function*() {
      const freshness = yield* Freshness
      expect(yield* freshness.publishApp(report(APP_ID, "stopped"), 1_000)).toBe("absent")
      expect((yield* freshness.lastEventRefresh).size).toBe(0)
    }).pipe(Effect.provide(layer)))

  it.effect("re-reads that finish together are published in one go, the newer of two for one app winning", () =>
    Effect.gen(function*() {
      const freshness = yield* Freshness
      const latest = yield* LatestSnapshot
      const metrics = yield* Metrics
      yield* freshness.publishCycle(fleet("running"), { startedAt: 1_000, observedAt: 1_100 })
      const before = (yield* metrics.storeStats).publishes
      const outcomes = yield* Effect.all([
        freshness.publishApp(report(OTHER, "stopped"), 2_000),
        freshness.publishApp(report(APP_ID, "running"), 2_600),
        freshness.publishApp(report(APP_ID, "stopped"), 2_500),
        freshness.publishApp(report(OTHER, "exited"), 2_200),
        freshness.publishApp(report("2222222222222222222222222222222222222222", "running"), 2_300)
      ], { concurrency: "unbounded" })
      // the first may be published on its own before the others wait; the newer report of each app wins either way
      expect(outcomes.slice(1)).toEqual(["published", "superseded", "published", "absent"])
      expect(statusOf(yield* latest.current, APP_ID)).toBe("running")
      expect(statusOf(yield* latest.current, OTHER)).toBe("exited")
      // whoever gets the lock publishes everything waiting by then: five re-reads, at most two publishes
      expect((yield* metrics.storeStats).publishes - before).toBeLessThanOrEqual(2)
      expect(new Set((yield* freshness.lastEventRefresh).keys())).toEqual(new Set([APP_ID, OTHER]))
    }).pipe(Effect.provide(layer)))
})
