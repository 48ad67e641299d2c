import { describe, expect, it } from "@effect/vitest"
import { knownStatuses } from "../../src/Core/Domain/CvmStatus.js"
import { FetchFailure, Observation } from "../../src/Core/Domain/Observation.js"
import { diffApp } from "../../src/Core/Diff.js"
import { actionCounts, cvmIdOf, fleetActions, planActions } from "../../src/Core/Plan/Actions.js"
import { APP_ID, cvm, desiredApp, observedApp } from "../support/builders.js"

const UUID = "c48d9363-21b2-4f4a-87d9-3496623f020d"

const oneCvm = (desired: "running" | "stopped", status: string, force = false, vmUuid: string | null = UUID) =>
  planActions(
    diffApp(desiredApp({ status: desired, replicas: { min: 1, max: 1 } }), Observation.found(observedApp([cvm({ status, vmUuid })]))),
    { force }
  )

describe("planActions: the action table of DESIGN §13", () => {
  it.each([
    ["running", "stopped", "start"],
    ["running", "exited", "start"],
    ["running", "EXITED", "start"],
    ["stopped", "running", "shutdown"],
    ["stopped", " Running ", "shutdown"]
  ] as const)("desired %s, actual %s → %s", (desired, status, action) => {
    expect(oneCvm(desired, status)).toEqual([{
      _tag: "Act",
      action: { app_id: APP_ID, vm_uuid: UUID, cvm_name: "payments-api", action, from: status.trim().toLowerCase(), to: desired }
    }])
  })

  it("--force turns a shutdown into a stop and leaves a start alone", () => {
    expect(oneCvm("stopped", "running", true)).toMatchObject([{ _tag: "Act", action: { action: "stop" } }])
    expect(oneCvm("running", "stopped", true)).toMatchObject([{ _tag: "Act", action: { action: "start" } }])
  })

  it.each([
    ["running", "starting"],
    ["running", "restarting"],
    ["running", "provisioning"],
    ["running", "creating"],
    ["stopped", "stopping"],
    ["stopped", "shutting_down"]
  ] as const)("desired %s, actual %s (progressing) → wait", (desired, status) => {
    expect(oneCvm(desired, status)).toEqual([{
      _tag: "Wait",
      wait: { app_id: APP_ID, vm_uuid: UUID, cvm_name: "payments-api", from: status, to: desired }
    }])
  })

  it("every other status, known or not, needs a person", () => {
    const remedied = new Set(["running:stopped", "running:exited", "stopped:running"])
    for (const desired of ["running", "stopped"] as const) {
      for (const status of [...knownStatuses, "hibernating", ""]) {
        const decisions = oneCvm(desired, status)
        const key = `${desired}:${status}`
        if (status === desired) expect(decisions).toEqual([])
        else if (remedied.has(key)) expect(decisions[0]?._tag).toBe("Act")
        else if (decisions[0]?._tag !== "Wait") {
          expect(decisions, key).toMatchObject([{ _tag: "Manual", manual: { reason: "status", vm_uuid: UUID } }])
        }
      }
    }
    expect(oneCvm("running", "error")).toMatchObject([{ _tag: "Manual", manual: { reason: "status" } }])
    expect(oneCvm("stopped", "exited")).toMatchObject([{ _tag: "Manual", manual: { reason: "status" } }])
  })

  it("a remediable CVM without a usable vm_uuid needs a person: nothing unchecked reaches a request path", () => {
    expect(oneCvm("running", "stopped", false, null)).toMatchObject([{ _tag: "Manual", manual: { reason: "no_vm_uuid" } }])
    expect(oneCvm("running", "stopped", false, "../../apps/x")).toMatchObject([{ _tag: "Manual", manual: { reason: "no_vm_uuid" } }])
  })

  it("missing_app, replicas and attribute drift need a person, with the reason", () => {
    const missing = planActions(diffApp(desiredApp(), Observation.notFound), { force: false })
    expect(missing).toMatchObject([{ _tag: "Manual", manual: { reason: "missing_app", vm_uuid: null, cvm_name: null } }])

    const tooFew = planActions(diffApp(desiredApp(), Observation.found(observedApp([cvm()]))), { force: false })
    expect(tooFew).toMatchObject([{ _tag: "Manual", manual: { reason: "replicas" } }])
    expect(tooFew[0]?._tag === "Manual" && tooFew[0].manual.detail).toContain("1 replica outside 2..2")

    const resized = planActions(
      diffApp(
        desiredApp({ replicas: { min: 1, max: 1 }, cvm: { instance_type: "tdx.xlarge" } }),
        Observation.found(observedApp([cvm({ status: "stopped" })]))
      ),
      { force: false }
    )
    expect(resized.map((d) => d._tag)).toEqual(["Act", "Manual"])
    expect(resized[1]).toMatchObject({ _tag: "Manual", manual: { reason: "attribute", vm_uuid: UUID, cvm_name: "payments-api" } })
  })

  it("an unknown app is one manual entry and never an action", () => {
    const failure = new FetchFailure({ appId: APP_ID, reason: "timeout", status: null, message: "no response" })
    const decisions = planActions(diffApp(desiredApp(), Observation.failed(failure)), { force: true })
    expect(decisions).toMatchObject([{ _tag: "Manual", manual: { reason: "unknown_app", app_id: APP_ID } }])
    expect(decisions[0]?._tag === "Manual" && decisions[0].manual.detail).toContain("(timeout)")
  })

  it("an app in sync has nothing to do", () => {
    const inSync = diffApp(desiredApp({ replicas: { min: 1, max: 1 } }), Observation.found(observedApp([cvm()])))
    expect(planActions(inSync, { force: false })).toEqual([])
  })
})

describe("fleetActions and actionCounts", () => {
  it("splits the decisions and counts them like terraform's footer", () => {
    const desired = desiredApp({ replicas: { min: 3, max: 3 } })
    const report = diffApp(
      desired,
      Observation.found(observedApp([
        cvm({ status: "stopped" }),
        cvm({ vmUuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51", name: "r1", status: "exited" }),
        cvm({ vmUuid: "26d247ca-23f5-4ffa-b590-7f732eddbf51", name: "r2", status: "starting" })
      ]))
    )
    const stopped = diffApp(desiredApp({ status: "stopped", replicas: { min: 1, max: 1 } }), Observation.found(observedApp([cvm()])))
    const plan = fleetActions([report, stopped, diffApp(desiredApp(), Observation.notFound)], { force: false })
    expect(plan.actions.map((a) => a.action)).toEqual(["start", "start", "shutdown"])
    expect(plan.waits).toHaveLength(1)
    expect(plan.manual.map((m) => m.reason)).toEqual(["missing_app"])
    expect(actionCounts(plan)).toBe("2 to start, 1 to shut down, 1 settling, 1 needs a person")
    expect(actionCounts(fleetActions([stopped], { force: true }))).toBe("1 to stop (forced)")
    expect(actionCounts({ actions: [], waits: [], manual: [] })).toBe("nothing to do")
  })
})

describe("cvmIdOf", () => {
  it("is the vm_uuid without dashes, lower-cased, and only when it is a UUID", () => {
    expect(cvmIdOf("C48D9363-21b2-4f4a-87d9-3496623f020d")).toBe("c48d936321b24f4a87d93496623f020d")
    expect(cvmIdOf("c48d936321b24f4a87d93496623f020d")).toBe("c48d936321b24f4a87d93496623f020d")
    expect(cvmIdOf("c48d9363")).toBeNull()
    expect(cvmIdOf("c48d9363-21b2-4f4a-87d9-3496623f020d/../x")).toBeNull()
  })
})
