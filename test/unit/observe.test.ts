import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { PhalaClient, type PhalaClientService } from "../../src/Cloud/PhalaClient.js"
import type { ObservedApp } from "../../src/Core/Domain/Observation.js"
import { observeAndDiff } from "../../src/Cloud/Observe.js"
import { captureLogs } from "../support/logs.js"
import { APP_ID, cvm, desiredApp, observedApp } from "../support/builders.js"

const OTHER = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"

/** A client that answers `healthy` for every app but `broken`, for which `answer` decides. */
const client = (answer: Effect.Effect<ObservedApp>): Layer.Layer<PhalaClient> =>
  Layer.succeed(PhalaClient, {
    getApp: (appId) => (appId === APP_ID ? answer : Effect.succeed(observedApp([cvm()], { appId: OTHER, replicas: 1 }))),
    listPage: () => Effect.die(new Error("per-app reads only"))
  } satisfies PhalaClientService)

/** An observation whose CVM status cannot be read: diffing it throws. */
const poisonedApp = (): ObservedApp =>
  observedApp([{
    ...cvm(),
    get status(): string {
      throw new RangeError("Invalid string length")
    }
  }], { replicas: 1 })

const apps = [desiredApp({ replicas: { min: 1, max: 1 } }), desiredApp({ appId: OTHER, name: "other", replicas: { min: 1, max: 1 } })]

describe("observeAndDiff: our own defects", () => {
  it.effect("a defect in the client is reason internal for that app only, and logged", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const snapshot = yield* observeAndDiff(apps, { concurrency: 2 })
      const [broken, other] = snapshot.apps
      expect(broken).toMatchObject({ appId: APP_ID, sync: "unknown", drifts: [], error: { reason: "internal", status: null } })
      expect(other).toMatchObject({ appId: OTHER, sync: "in_sync" })
      expect(logs.lines.some((line) => line.includes("internal error while handling app") && line.includes(APP_ID))).toBe(true)
    }).pipe(Effect.provide(client(Effect.die(new TypeError("cannot read properties of undefined")))), Effect.provide(logs.layer))
  })

  it.effect("a defect while diffing an observation is reason internal for that app only", () => {
    const poisoned = poisonedApp()
    return Effect.gen(function*() {
      const snapshot = yield* observeAndDiff(apps, { concurrency: 2 })
      expect(snapshot.apps.map((app) => [app.appId, app.sync, app.error?.reason ?? null])).toStrictEqual([
        [APP_ID, "unknown", "internal"],
        [OTHER, "in_sync", null]
      ])
    }).pipe(Effect.provide(client(Effect.succeed(poisoned))), Effect.provide(captureLogs().layer))
  })

  it.effect("with the sweep: a defect while diffing a listed app is reason internal for that app only, and logged", () => {
    const poisoned = poisonedApp()
    const healthy = observedApp([cvm()], { appId: OTHER, replicas: 1 })
    const THIRD = "1f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
    const listing: PhalaClientService = {
      getApp: (appId) => (appId === THIRD ? Effect.succeed(observedApp([cvm()], { appId: THIRD, replicas: 1 })) : Effect.die(new Error("listed apps are not read alone"))),
      listPage: (page) =>
        Effect.succeed({
          page,
          pageSize: 100,
          total: 2,
          totalPages: 1,
          rejected: 0,
          entries: [{ appId: APP_ID, name: "broken", app: poisoned }, { appId: OTHER, name: "other", app: healthy }]
        })
    }
    const logs = captureLogs()
    const third = desiredApp({ appId: THIRD, name: "third", replicas: { min: 1, max: 1 } })
    return Effect.gen(function*() {
      const snapshot = yield* observeAndDiff([...apps, third], { concurrency: 2, fetch: "list" })
      expect(snapshot.reading?.fetch).toBe("list")
      expect(snapshot.apps.map((app) => [app.appId, app.sync, app.error?.reason ?? null])).toStrictEqual([
        [APP_ID, "unknown", "internal"],
        [OTHER, "in_sync", null],
        [THIRD, "in_sync", null]
      ])
      expect(logs.lines.some((line) => line.includes("internal error while handling app") && line.includes(APP_ID))).toBe(true)
    }).pipe(Effect.provide(Layer.succeed(PhalaClient, listing)), Effect.provide(logs.layer))
  })
})
