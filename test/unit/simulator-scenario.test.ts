import { Headers } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { checkKey } from "../../src/Simulator/Api.js"
import { decodeScenario, loadScenario, makeSimulatorState, parseScenario, syntheticApps } from "../../src/Simulator/Simulator.js"

const errorOf = <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.flip(effect), (e) => e.message)

describe("simulator scenario", () => {
  it.effect("reads durations in the config's grammar (one grammar for both)", () =>
    Effect.gen(function*() {
      const delay = (text: string) => Effect.map(decodeScenario({ transition_delay: text }), (s) => s.transition_delay)
      for (const [text, millis] of [["300ms", 300], ["10s", 10_000], ["2m", 120_000], ["1h", 3_600_000], ["1s500ms", 1_500], ["1h30m", 5_400_000]] as const) {
        expect(yield* delay(text)).toBe(millis)
      }
      for (const text of ["1.5s", "10", "5 minutes", "30m1h"]) {
        expect(yield* errorOf(delay(text))).toContain(`transition_delay: invalid duration ${JSON.stringify(text)} (use e.g. 500ms, 30s, 2m, 1h)`)
      }
    }))

  it.effect("unknown keys are errors that name file, line, column and path", () =>
    Effect.gen(function*() {
      const text = [
        "api_keys: [phak_x]",
        "apps:",
        "  - name: a",
        "    cvms:",
        "      - name: a-0",
        "        instance_typo: tdx.large"
      ].join("\n")
      const message = yield* errorOf(parseScenario(text, "s.yaml"))
      expect(message).toContain("s.yaml:6:9: apps.0.cvms.0.instance_typo: unknown key")
    }))

  it.effect("bad values are reported with their path", () =>
    Effect.gen(function*() {
      const message = yield* errorOf(parseScenario("api_keys: [k]\ntransition_delay: soon\ndefault_version: '2024-01-01'\n", "s.yaml"))
      expect(message).toContain(`s.yaml:2:19: transition_delay: invalid duration "soon" (use e.g. 500ms, 30s, 2m, 1h)`)
      expect(message).toContain("s.yaml:3:18: default_version")
      expect(yield* errorOf(parseScenario("api_keys: [k\n", "s.yaml"))).toMatch(/^s\.yaml:1:11: YAML syntax error: this \[ is never closed/)
      expect(yield* errorOf(parseScenario("seed: 1\nseed: 2\n", "s.yaml"))).toMatch(/^s\.yaml:2:1: YAML syntax error: Map keys must be unique/)
      expect(yield* errorOf(decodeScenario({ api_keys: [] }))).toContain("api_keys")
    }))

  it.effect("kms_type is one of the API's KmsType values (the 2026 shapes declare it as an enum)", () =>
    Effect.gen(function*() {
      const text = ["apps:", "  - name: a", "    kms_type: ethereum", "    cvms:", "      - name: a-0", "        kms_type: PHALA"].join("\n")
      const message = yield* errorOf(parseScenario(text, "s.yaml"))
      expect(message).toContain("s.yaml:6:19: apps.0.cvms.0.kms_type")
      expect(message).toContain("\"legacy\"")
      const patch = yield* errorOf(decodeScenario({ timeline: { events: [{ at: "1s", app: "a", cvm: "a-0", set: { kms_type: "dstack" } }] } }))
      expect(patch).toContain("timeline.events.0.set.kms_type")
      const ok = yield* decodeScenario({ apps: [{ kms_type: "base", cvms: [{ kms_type: "legacy" }] }] })
      expect(ok.apps?.[0]?.cvms?.[0]?.kms_type).toBe("legacy")
    }))

  it.effect("vm_uuid is a UUID version 4, as the API sends it (the SDK refuses other UUIDs as CVM ids)", () =>
    Effect.gen(function*() {
      const text = ["apps:", "  - name: a", "    cvms:", "      - vm_uuid: c48d9363-21b2-1f4a-87d9-3496623f020d"].join("\n")
      expect(yield* errorOf(parseScenario(text, "s.yaml"))).toContain("s.yaml:4:18: apps.0.cvms.0.vm_uuid: Expected a lower-case UUID version 4")
      const variant = yield* errorOf(decodeScenario({ apps: [{ cvms: [{ vm_uuid: "c48d9363-21b2-4f4a-c7d9-3496623f020d" }] }] }))
      expect(variant).toContain("apps.0.cvms.0.vm_uuid")
      const ok = yield* decodeScenario({ apps: [{ cvms: [{ vm_uuid: "c48d9363-21b2-4f4a-87d9-3496623f020d" }] }] })
      expect(ok.apps?.[0]?.cvms?.[0]?.vm_uuid).toBe("c48d9363-21b2-4f4a-87d9-3496623f020d")
    }))

  it.effect("timeline references must exist and offsets must fit in the loop", () =>
    Effect.gen(function*() {
      const apps = [{ name: "a", cvms: [{ name: "a-0" }] }]
      const dangling = decodeScenario({
        api_keys: ["k"],
        apps,
        timeline: { events: [{ at: "1s", app: "b", cvm: "a-0", status: "stopped" }] }
      }).pipe(Effect.flatMap(makeSimulatorState))
      expect(yield* errorOf(dangling)).toContain("no app with id or name \"b\"")
      const outside = decodeScenario({
        api_keys: ["k"],
        apps,
        timeline: { loop: "10s", events: [{ at: "20s", app: "a", cvm: "a-0", status: "stopped" }] }
      })
      expect(yield* errorOf(outside)).toContain("shorter than loop")
      const noTarget = decodeScenario({ api_keys: ["k"], apps, timeline: { events: [{ at: "1s", app: "a", status: "stopped" }] } })
      expect(yield* errorOf(noTarget)).toContain("need vm_uuid or cvm")
    }))

  it.effect("the shipped demo and bench scenarios load", () =>
    Effect.gen(function*() {
      const demo = yield* loadScenario("config/scenarios/demo.yaml")
      const demoState = yield* makeSimulatorState(demo)
      const world = yield* demoState.current
      expect(world.apps.size).toBeGreaterThanOrEqual(6)
      expect(world.settings.loopMs).toBe(180_000)
      const bench = yield* makeSimulatorState(yield* loadScenario("config/scenarios/bench.yaml"))
      const fleet = yield* bench.current
      expect(fleet.apps.size).toBe(1000)
      const uuids = new Set([...fleet.apps.values()].flatMap((a) => a.cvms.map((c) => c.vmUuid)))
      expect(uuids.size).toBe(2000)
      expect(yield* errorOf(loadScenario("config/scenarios/does-not-exist.yaml"))).toContain("cannot read scenario")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it("synthetic fleets are deterministic from the seed", () => {
    const a = syntheticApps({ apps: 3, cvms_per_app: 2, seed: 42 })
    const b = syntheticApps({ apps: 3, cvms_per_app: 2, seed: 42 })
    const c = syntheticApps({ apps: 3, cvms_per_app: 2, seed: 43 })
    expect(a).toEqual(b)
    expect(a[0]?.app_id).not.toEqual(c[0]?.app_id)
    expect(a[0]?.app_id).toMatch(/^[0-9a-f]{40}$/)
    expect(a[2]?.name).toBe("bench-app-0002")
    expect(a[1]?.cvms?.[1]?.vm_uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it.effect("the scenario example in docs/simulator.md is valid", () =>
    Effect.gen(function*() {
      const doc = readFileSync("docs/simulator.md", "utf8")
      const section = doc.slice(doc.indexOf("## Scenario format"))
      const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1]
      expect(example).toContain("synthetic:")
      const state = yield* makeSimulatorState(yield* parseScenario(example ?? "", "docs/simulator.md"))
      const world = yield* state.current
      expect(world.apps.size).toBe(1001)
      expect(world.settings.timeline).toHaveLength(6)
    }))
})

describe("scenario without api_keys", () => {
  it.effect("accepts any non-empty key, and still answers 401 without one", () =>
    Effect.gen(function*() {
      const scenario = yield* decodeScenario({ apps: [] })
      const state = yield* makeSimulatorState(scenario)
      const settings = (yield* state.current).settings
      expect(checkKey(Headers.fromInput({ "x-api-key": "phak_anything" }), settings)).toBe("valid")
      expect(checkKey(Headers.empty, settings)).toBe("missing")
    }))
})
