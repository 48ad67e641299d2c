import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Layer, Option, Ref, TestClock } from "effect"
import { Alerting } from "../../src/Alerts/Alerting.js"
import { Observation } from "../../src/Core/Domain/Observation.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { Publisher } from "../../src/Daemon/Publisher.js"
import { fleetViewOf } from "../../src/Http/StatusPage.js"
import { Metrics } from "../../src/Metrics/Metrics.js"
import { AlertsView } from "../../src/Runtime/AlertsView.js"
import { Events } from "../../src/Runtime/Events.js"
import { LatestSnapshot } from "../../src/Runtime/LatestSnapshot.js"
import { APP_ID, cvm, desiredApp, observedApp } from "../support/builders.js"
import { appIdOf, fleetApp, fleetSnapshot } from "../support/fleet.js"
import { servedText } from "../support/served.js"

/** Alerting whose evaluation takes `took` of test time and tells when it has begun. */
const slowAlerting = (took: Duration.Duration, begun: Deferred.Deferred<void>, evaluated: Ref.Ref<number>) =>
  Layer.effect(Alerting, Effect.gen(function*() {
    const view = yield* AlertsView
    return Alerting.make({
      onSnapshot: () =>
        Deferred.succeed(begun, undefined).pipe(
          Effect.zipRight(Effect.sleep(took)),
          Effect.zipRight(Ref.update(evaluated, (n) => n + 1))
        ),
      onApps: () => Effect.void,
      view,
      current: Effect.succeed(new Map())
    })
  })).pipe(Layer.provide(AlertsView.Disabled))

const fleet = (at: number): Snapshot => ({
  generatedAt: new Date(at),
  apps: [diffApp(desiredApp(), Observation.found(observedApp([cvm()])))]
})

describe("Publisher", () => {
  it.scoped("an interrupt during publishing waits for it: alerts, metrics and the snapshot are all published", () =>
    Effect.gen(function*() {
      const begun = yield* Deferred.make<void>()
      const evaluated = yield* Ref.make(0)
      const layer = Publisher.DefaultWithoutDependencies.pipe(
        Layer.provideMerge(Layer.mergeAll(slowAlerting(Duration.seconds(5), begun, evaluated), Metrics.DefaultWithoutDependencies, LatestSnapshot.Default)),
        Layer.provideMerge(Events.Default)
      )
      const context = yield* Layer.build(layer)
      const publisher = yield* Effect.provide(Publisher, context)
      // the cycle started at 0 and observed every app by 0.5 s
      yield* TestClock.setTime(500)
      const publishing = yield* Effect.fork(publisher.publish(fleet(1_000), { startedAt: 0, observedAt: 500 }))
      yield* Deferred.await(begun)
      // a client that went away, or shutdown: the interrupt arrives while alerts are being evaluated
      const interrupting = yield* Effect.fork(Fiber.interrupt(publishing))
      yield* TestClock.adjust(Duration.seconds(5))
      yield* Fiber.join(interrupting)
      expect(yield* Ref.get(evaluated)).toBe(1)
      const latest = yield* Effect.flatMap(LatestSnapshot, (l) => l.current).pipe(Effect.provide(context))
      expect(Option.map(latest, (s) => s.generatedAt.getTime())).toEqual(Option.some(1_000))
      const text = yield* Effect.flatMap(Metrics, servedText).pipe(Effect.provide(context))
      expect(text).toContain(`phala_app_up{app_id="${APP_ID}",app_name="payments-api"} 1`)
      // the whole cycle, alert evaluation included, and its phases
      expect(text).toMatch(/^phala_drift_poll_duration_seconds_count 1$/m)
      expect(text).toMatch(/^phala_drift_poll_duration_seconds_sum 5\.5$/m)
      expect(text).toMatch(/^phala_drift_poll_phase_duration_seconds_sum\{phase="observe"\} 0\.5$/m)
      expect(text).toMatch(/^phala_drift_poll_phase_duration_seconds_sum\{phase="alerts"\} 5$/m)
    }))

  it.scoped("publishApp re-renders that app's series only, and the others keep theirs", () =>
    Effect.gen(function*() {
      const begun = yield* Deferred.make<void>()
      const layer = Publisher.DefaultWithoutDependencies.pipe(
        Layer.provideMerge(Layer.mergeAll(slowAlerting(Duration.zero, begun, yield* Ref.make(0)), Metrics.DefaultWithoutDependencies, LatestSnapshot.Default)),
        Layer.provideMerge(Events.Default)
      )
      const context = yield* Layer.build(layer)
      const publisher = yield* Effect.provide(Publisher, context)
      const metrics = yield* Effect.provide(Metrics, context)
      yield* TestClock.setTime(1_000_000)
      yield* publisher.publish(fleetSnapshot(1_000, Array.from({ length: 200 }, (_, i) => fleetApp(i))), { startedAt: 999_000, observedAt: 999_500 })
      const before = yield* metrics.storeStats
      const beforeText = yield* servedText(metrics)
      yield* TestClock.setTime(1_010_000)
      const published = yield* publisher.publishApp(fleetApp(42, "stopped"))
      expect(Option.map(published, (s) => s.apps.length)).toEqual(Option.some(200))
      const after = yield* metrics.storeStats
      // sync, drift, CVM status, health and CVM drift of app 42, plus its last success time: nothing of the other 199
      expect(after.segmentsRendered - before.segmentsRendered).toBe(6)
      const text = yield* servedText(metrics)
      expect(text).toContain(`phala_app_sync_status{app_id="${appIdOf(42)}",app_name="app-00042",status="out_of_sync"} 1`)
      expect(text).toContain(`phala_app_last_success_timestamp_seconds{app_id="${appIdOf(42)}",app_name="app-00042"} 1010`)
      const series = `phala_app_last_success_timestamp_seconds{app_id="${appIdOf(7)}",app_name="app-00007"} 1000`
      expect(beforeText).toContain(series)
      expect(text).toContain(series)
      expect(yield* publisher.publishApp(fleetApp(999))).toEqual(Option.none())
    }))

  it.scoped("the status page's view of a published snapshot is made with it, the first page's apps section rendered and encoded", () =>
    Effect.gen(function*() {
      const layer = Publisher.DefaultWithoutDependencies.pipe(
        Layer.provideMerge(Layer.mergeAll(slowAlerting(Duration.zero, yield* Deferred.make<void>(), yield* Ref.make(0)), Metrics.DefaultWithoutDependencies, LatestSnapshot.Default)),
        Layer.provideMerge(Events.Default)
      )
      const context = yield* Layer.build(layer)
      const publisher = yield* Effect.provide(Publisher, context)
      const latest = yield* Effect.provide(LatestSnapshot, context)
      const viewNow = Effect.map(latest.timeline, Option.map(({ moments, snapshot }) => fleetViewOf(snapshot, moments)))
      yield* TestClock.setTime(1_000_000)
      yield* publisher.publish(fleetSnapshot(1_000, Array.from({ length: 250 }, (_, i) => fleetApp(i))), { startedAt: 999_000, observedAt: 999_500 })
      const first = yield* viewNow
      // made by the publish, before any visitor: one page rendered, and asking again renders nothing
      expect(Option.map(first, (view) => [view.rendered(), view.encoded()])).toEqual(Option.some([1, 1]))
      expect(Option.map(first, (view) => [view.pages, view.snapshot.apps.length])).toEqual(Option.some([3, 250]))
      yield* TestClock.setTime(1_010_000)
      yield* publisher.publishApp(fleetApp(42, "stopped"))
      const second = yield* viewNow
      expect(Option.map(second, (view) => [view.rendered(), view.encoded()])).toEqual(Option.some([1, 1]))
      expect(Option.map(second, (view) => view.problems)).toEqual(Option.some(1))
      expect(Option.getOrNull(second)).not.toBe(Option.getOrNull(first))
    }))
})
