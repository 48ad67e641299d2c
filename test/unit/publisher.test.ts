import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Layer, Option, Ref, TestClock } from "effect"
import { Alerting } from "../../src/Alerts/Alerting.js"
import { Observation } from "../../src/Core/Domain/Observation.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { Publisher } from "../../src/Daemon/Publisher.js"
import { Metrics } from "../../src/Metrics/Metrics.js"
import { AlertsView } from "../../src/Runtime/AlertsView.js"
import { Events } from "../../src/Runtime/Events.js"
import { LatestSnapshot } from "../../src/Runtime/LatestSnapshot.js"
import { APP_ID, cvm, desiredApp, observedApp } from "../support/builders.js"

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
      const text = (yield* Effect.flatMap(Metrics, (m) => m.exposition).pipe(Effect.provide(context))).text
      expect(text).toContain(`phala_app_up{app_id="${APP_ID}",app_name="payments-api"} 1`)
      // the whole cycle, alert evaluation included, and its phases
      expect(text).toMatch(/^phala_drift_poll_duration_seconds_count 1$/m)
      expect(text).toMatch(/^phala_drift_poll_duration_seconds_sum 5\.5$/m)
      expect(text).toMatch(/^phala_drift_poll_phase_duration_seconds_sum\{phase="observe"\} 0\.5$/m)
      expect(text).toMatch(/^phala_drift_poll_phase_duration_seconds_sum\{phase="alerts"\} 5$/m)
    }))
})
