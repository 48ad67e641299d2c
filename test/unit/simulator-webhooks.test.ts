import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { decodeScenario, makeSimulatorState } from "../../src/Simulator/Simulator.js"
import { changesBetween, eventFor } from "../../src/Simulator/Webhooks.js"
import * as World from "../../src/Simulator/World.js"

const APP = "e000000000000000000000000000000000000001"
const VM = "00000000-0000-4000-8000-00000000e101"

describe("the simulator's webhook events", () => {
  it("maps status changes to the events Phala Cloud sends, and none for exited or transitional ones", () => {
    expect(eventFor(null, "provisioning")).toBe("cvm.created")
    expect(eventFor("stopped", "running")).toBe("cvm.started")
    expect(eventFor("restarting", "Running")).toBe("cvm.restarted")
    expect(eventFor("running", "stopped")).toBe("cvm.stopped")
    expect(eventFor("running", "exited")).toBeNull()
    expect(eventFor("running", "stopping")).toBeNull()
    expect(eventFor("running", "running")).toBeNull()
  })

  it.effect("finds every change between two worlds, including scheduled transitions and removals", () =>
    Effect.gen(function*() {
      const scenario = yield* decodeScenario({
        webhooks: [{ url: "http://127.0.0.1:1/hooks", secret: "whsec_x" }],
        transition_delay: "5s",
        apps: [{ app_id: APP, name: "w", cvms: [{ vm_uuid: VM, name: "w-0", status: "running" }] }]
      })
      const state = yield* makeSimulatorState(scenario)
      expect(state.webhooks.targets).toEqual([{ url: "http://127.0.0.1:1/hooks", secret: "whsec_x" }])
      const seen: Array<string> = []
      state.onChange((before, after) => {
        for (const c of changesBetween(before, after)) seen.push(`${c.event} ${c.name} ${c.status}`)
      })
      yield* state.modify(World.setStatus(APP, VM, "stopped", { status: "running", after: 10_000 }))
      yield* TestClock.adjust("11 seconds")
      yield* state.current
      yield* state.modify(World.addCvm(APP, { name: "w-1", status: "running" }))
      yield* state.modify(World.removeApp(APP))
      expect(seen).toEqual([
        "cvm.stopped w-0 stopped",
        "cvm.started w-0 running",
        "cvm.created w-1 running",
        "cvm.deleted w-0 deleted",
        "cvm.deleted w-1 deleted"
      ])
    }))
})
