import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { decodeScenario, loadScenario, makeSimulatorState } from "../../src/Simulator/Simulator.js"
import type { SimulatorState } from "../../src/Simulator/State.js"
import { appBody } from "../../src/Simulator/Responses.js"
import * as World from "../../src/Simulator/World.js"

const APP = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const VM0 = "c48d9363-21b2-4f4a-87d9-3496623f020d"
const VM1 = "16d247ca-23f5-4ffa-b590-7f732eddbf51"

const base = {
  api_keys: ["phak_test"],
  transition_delay: "5s",
  apps: [
    {
      app_id: APP,
      name: "payments-api",
      cvms: [
        { vm_uuid: VM0, name: "payments-api-0", instance_type: "tdx.large" },
        { vm_uuid: VM1, name: "payments-api-1", status: "stopped", transitions: [{ after: "10s", status: "starting" }, { after: "12s", status: "running" }] }
      ]
    }
  ]
}

const stateOf = (input: unknown) => Effect.flatMap(decodeScenario(input), makeSimulatorState)

const statusOf = (state: SimulatorState, vmUuid: string) =>
  Effect.map(state.current, (w) => w.apps.get(APP)?.cvms.find((c) => c.vmUuid === vmUuid)?.status)

describe("simulator state", () => {
  it.effect("scenario transitions apply at their offsets", () =>
    Effect.gen(function*() {
      const state = yield* stateOf(base)
      expect(yield* statusOf(state, VM1)).toBe("stopped")
      yield* TestClock.adjust("9 seconds")
      expect(yield* statusOf(state, VM1)).toBe("stopped")
      yield* TestClock.adjust("1 second")
      expect(yield* statusOf(state, VM1)).toBe("starting")
      yield* TestClock.adjust("2 seconds")
      expect(yield* statusOf(state, VM1)).toBe("running")
    }))

  it.effect("compose_hash: deterministic per CVM, set by the scenario or a patch, sent in the 2026 shapes only", () =>
    Effect.gen(function*() {
      const set = "ab".repeat(32)
      const scenario = { ...base, apps: [{ ...base.apps[0], cvms: [{ vm_uuid: VM0, compose_hash: set }, { vm_uuid: VM1 }] }] }
      const hashes = (world: World.World, version: "2025-10-28" | "2026-01-21") => {
        const app = world.apps.get(APP)
        if (app === undefined) throw new Error("app missing")
        const cvms = appBody(app, version, world.settings.seed)["cvms"]
        return Array.isArray(cvms) ? cvms.map((c) => (typeof c === "object" && c !== null && "compose_hash" in c ? c["compose_hash"] : "absent")) : []
      }
      const first = yield* Effect.flatMap(stateOf(scenario), (s) => s.current)
      const again = yield* Effect.flatMap(stateOf(scenario), (s) => s.current)
      const [mine, generated] = hashes(first, "2026-01-21")
      expect(mine).toBe(set)
      expect(generated).toMatch(/^[0-9a-f]{64}$/)
      expect(hashes(again, "2026-01-21")).toEqual([set, generated])
      expect(hashes(first, "2025-10-28")).toEqual(["absent", "absent"])
      const state = yield* stateOf(scenario)
      const changed = "cd".repeat(32)
      yield* state.modify(World.patchCvm(APP, VM1, { compose_hash: changed }))
      expect(hashes(yield* state.current, "2026-01-21")).toEqual([set, changed])
    }))

  it.effect("lifecycle actions go through the transitional status and resolve after the delay", () =>
    Effect.gen(function*() {
      const state = yield* stateOf(base)
      const [result] = yield* state.modify((w, now) => {
        const [r, next] = World.lifecycle(w, VM0.replaceAll("-", ""), "shutdown", now)
        return [[r], next] as const
      })
      expect(result?._tag).toBe("Found")
      expect(yield* statusOf(state, VM0)).toBe("shutting_down")
      const conflict = yield* state.modify((w, now) => World.lifecycle(w, VM0, "restart", now))
      expect(conflict._tag).toBe("Conflict")
      yield* TestClock.adjust("4999 millis")
      expect(yield* statusOf(state, VM0)).toBe("shutting_down")
      yield* TestClock.adjust("1 millis")
      expect(yield* statusOf(state, VM0)).toBe("stopped")
      const restarted = yield* state.modify((w, now) => World.lifecycle(w, VM0, "start", now))
      expect(restarted._tag).toBe("Found")
      yield* TestClock.adjust("5 seconds")
      expect(yield* statusOf(state, VM0)).toBe("running")
    }))

  it.effect("stop is a forced stop that cancels an operation in progress", () =>
    Effect.gen(function*() {
      const state = yield* stateOf(base)
      yield* state.modify((w, now) => World.lifecycle(w, VM0, "restart", now))
      const stop = yield* state.modify((w, now) => World.lifecycle(w, VM0, "stop", now))
      expect(stop._tag).toBe("Found")
      yield* TestClock.adjust("10 seconds")
      expect(yield* statusOf(state, VM0)).toBe("stopped")
    }))

  it.effect("cvm ids resolve by dashed or bare uuid, cvm_ hashid and app_ id; unknown ones are not found", () =>
    Effect.gen(function*() {
      const state = yield* stateOf({ ...base, apps: [{ ...base.apps[0], cvms: [{ vm_uuid: VM0, id: "cvm_Abc123" }] }] })
      const world = yield* state.current
      expect(World.findCvm(world, VM0)._tag).toBe("Found")
      expect(World.findCvm(world, VM0.replaceAll("-", ""))._tag).toBe("Found")
      expect(World.findCvm(world, "cvm_Abc123")._tag).toBe("Found")
      expect(World.findCvm(world, `app_${APP}`)._tag).toBe("Found")
      expect(World.findCvm(world, "cvm_nope")._tag).toBe("NotFound")
      const twoReplicas = yield* stateOf(base)
      expect(World.findCvm(yield* twoReplicas.current, `app_${APP}`)._tag).toBe("Ambiguous")
    }))

  it.effect("admin status change with then, and manual changes override scheduled transitions", () =>
    Effect.gen(function*() {
      const state = yield* stateOf(base)
      const set = yield* state.modify(World.setStatus(APP, VM1, "exited", { status: "running", after: 3000 }))
      expect(set._tag).toBe("Ok")
      yield* TestClock.adjust("3 seconds")
      expect(yield* statusOf(state, VM1)).toBe("running")
      // the scenario's own transitions for VM1 were cancelled by the manual change
      yield* TestClock.adjust("20 seconds")
      expect(yield* statusOf(state, VM1)).toBe("running")
    }))

  it.effect("a looping timeline makes drift appear and clear again every round", () =>
    Effect.gen(function*() {
      const state = yield* stateOf({
        ...base,
        timeline: {
          loop: "180s",
          events: [
            { at: "40s", app: "payments-api", cvm: "payments-api-0", status: "stopped" },
            { at: "100s", app: APP, vm_uuid: VM0, status: "starting" },
            { at: "120s", app: "payments-api", cvm: "payments-api-0", set: { instance_type: "tdx.medium" } },
            { at: "150s", app: "payments-api", faults: { statuses: [503] } },
            { at: "170s", app: "payments-api", cvm: "payments-api-0", set: { instance_type: "tdx.large" } }
          ]
        }
      })
      const cvm = () => Effect.map(state.current, (w) => w.apps.get(APP)?.cvms.find((c) => c.vmUuid === VM0))
      for (const round of [0, 1]) {
        const at = (s: number) => TestClock.setTime((round * 180 + s) * 1000)
        yield* at(39)
        expect((yield* cvm())?.status).toBe("running")
        yield* at(40)
        expect((yield* cvm())?.status).toBe("stopped")
        yield* at(101)
        expect((yield* cvm())?.status).toBe("starting")
        yield* at(105)
        expect((yield* cvm())?.status).toBe("running")
        yield* at(121)
        expect((yield* cvm())).toMatchObject({ instanceType: "tdx.medium", vcpu: 2, memoryMb: 4096 })
        yield* at(151)
        const fault = yield* state.modify((w) => World.takeFault(w, APP))
        expect(fault.action).toEqual({ _tag: "Status", status: 503, retryAfter: null })
        yield* at(171)
        expect((yield* cvm())?.instanceType).toBe("tdx.large")
      }
    }))

  it.effect("queued statuses and rate limits are consumed one per request", () =>
    Effect.gen(function*() {
      const state = yield* stateOf({
        ...base,
        apps: [{ ...base.apps[0], faults: { statuses: [503, { status: 500, retry_after: 2 }], rate_limit: { count: 1 }, latency: "1s" } }]
      })
      const take = state.modify((w) => World.takeFault(w, APP))
      expect((yield* take).action).toEqual({ _tag: "Status", status: 503, retryAfter: null })
      expect((yield* take).action).toEqual({ _tag: "Status", status: 500, retryAfter: "2" })
      const limited = yield* take
      expect(limited).toEqual({ latencyMs: 1000, action: { _tag: "RateLimited", retryAfter: null } })
      expect((yield* take).action).toEqual({ _tag: "None" })
      yield* state.reset
      expect((yield* take).action._tag).toBe("Status")
    }))

  it.effect("adding and removing apps and CVMs", () =>
    Effect.gen(function*() {
      const state = yield* stateOf(base)
      const added = yield* state.modify(World.addCvm(APP, { name: "payments-api-2", instance_type: "tdx.xlarge" }))
      expect(added._tag).toBe("Ok")
      if (added._tag !== "Ok") return
      expect(added.value).toMatchObject({ vcpu: 8, memoryMb: 16384, status: "running" })
      expect(added.value.vmUuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(added.value.id).toMatch(/^cvm_[0-9A-Za-z]{8}$/)
      const duplicate = yield* state.modify(World.addCvm(APP, { vm_uuid: VM0 }))
      expect(duplicate._tag).toBe("Conflict")
      expect((yield* state.modify(World.removeCvm(APP, VM0)))._tag).toBe("Ok")
      expect((yield* state.current).apps.get(APP)?.cvms.map((c) => c.name)).toEqual(["payments-api-1", "payments-api-2"])
      const app = yield* state.modify(World.addApp({ name: "new-app" }))
      expect(app._tag).toBe("Ok")
      if (app._tag !== "Ok") return
      expect(app.value.appId).toMatch(/^[0-9a-f]{40}$/)
      expect(app.value.id).toMatch(/^prj_/)
      expect((yield* state.modify(World.removeApp(app.value.appId)))._tag).toBe("Ok")
      expect((yield* state.modify(World.removeApp(app.value.appId)))._tag).toBe("NotFound")
    }))

  it.effect("the demo scenario's drift appears and clears within each three-minute round", () =>
    Effect.gen(function*() {
      const state = yield* makeSimulatorState(yield* loadScenario("config/scenarios/demo.yaml"))
      const statusOf = (name: string) =>
        Effect.map(state.current, (w) => [...w.apps.values()].flatMap((a) => a.cvms).find((c) => c.name === name)?.status)
      const typeOf = Effect.map(state.current, (w) =>
        [...w.apps.values()].flatMap((a) => a.cvms).find((c) => c.name === "search-indexer-0")?.instanceType)
      for (const round of [0, 1, 2]) {
        const at = (s: number) => TestClock.setTime((round * 180 + s) * 1000)
        yield* at(30)
        expect(yield* statusOf("payments-api-replica-1")).toBe("running")
        expect(yield* statusOf("nightly-settlement-0")).toBe("stopped")
        expect(yield* typeOf).toBe("tdx.medium")
        yield* at(45)
        expect(yield* statusOf("payments-api-replica-1")).toBe("stopped")
        yield* at(70)
        expect(yield* statusOf("nightly-settlement-0")).toBe("running")
        yield* at(95)
        expect(yield* typeOf).toBe("tdx.large")
        yield* at(110)
        expect(yield* statusOf("payments-api-replica-1")).toBe("running")
        yield* at(140)
        expect(yield* statusOf("nightly-settlement-0")).toBe("stopped")
        yield* at(160)
        expect(yield* statusOf("web-frontend-2")).toBe("running")
        yield* at(179)
        expect(yield* statusOf("web-frontend-2")).toBe("exited")
        expect(yield* typeOf).toBe("tdx.medium")
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
