import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { approval, approvalPrompt, isApproval } from "../../src/Cli/Confirm.js"
import { FetchFailure, Observation } from "../../src/Core/Domain/Observation.js"
import { diffApp } from "../../src/Core/Diff.js"
import type { Action } from "../../src/Core/Plan/Actions.js"
import { applyExitCode, applyJson, recheck, withForce } from "../../src/Core/Plan/ApplyReport.js"
import { planJson } from "../../src/Core/Plan/PlanJson.js"
import { configDigest, decodeSavedPlan, encodeSavedPlan } from "../../src/Core/Plan/SavedPlan.js"
import { APP_ID, cvm, desiredApp, observedApp } from "../support/builders.js"

const UUID = "c48d9363-21b2-4f4a-87d9-3496623f020d"
const start: Action = { app_id: APP_ID, vm_uuid: UUID, cvm_name: "payments-api", action: "start", from: "stopped", to: "running" }
const one = { replicas: { min: 1, max: 1 } } as const

describe("approval", () => {
  const asked: Array<string> = []
  const answering = (answer: string | null) => (prompt: string) =>
    Effect.sync(() => {
      asked.push(prompt)
      return answer
    })

  it("accepts exactly 'yes'", () => {
    expect(isApproval("yes")).toBe(true)
    expect(isApproval(" yes \r")).toBe(true)
    for (const no of ["y", "YES", "Yes", "yes please", "", null]) expect(isApproval(no)).toBe(false)
  })

  it.effect("--auto-approve never asks; no terminal refuses without asking; a terminal asks with terraform's words", () =>
    Effect.gen(function*() {
      asked.length = 0
      expect(yield* approval({ autoApprove: true, terminal: false }, answering("no"))).toBeNull()
      expect(yield* approval({ autoApprove: false, terminal: false }, answering("yes"))).toEqual({ _tag: "NoTerminal" })
      expect(asked).toEqual([])
      expect(yield* approval({ autoApprove: false, terminal: true }, answering("yes"))).toBeNull()
      expect(yield* approval({ autoApprove: false, terminal: true }, answering("no"))).toEqual({ _tag: "Declined" })
      expect(yield* approval({ autoApprove: false, terminal: true }, answering(null))).toEqual({ _tag: "Declined" })
      expect(asked).toEqual([approvalPrompt, approvalPrompt, approvalPrompt])
      expect(approvalPrompt).toContain("Only 'yes' will be accepted to approve.")
    }))
})

describe("recheck before acting", () => {
  const fresh = (status: string, vmUuid = UUID) =>
    diffApp(desiredApp(one), Observation.found(observedApp([cvm({ status, vmUuid })])))

  it("goes ahead when the CVM is still as planned", () => {
    expect(recheck(start, fresh("stopped"), { force: false })).toEqual({ _tag: "Go" })
  })

  it("skips a CVM that changed since the plan, saying how", () => {
    expect(recheck(start, fresh("running"), { force: false })).toEqual({
      _tag: "Changed",
      detail: "changed since the plan: now \"running\", planned from \"stopped\""
    })
    // exited also calls for a start, but it is not what the plan saw
    expect(recheck(start, fresh("exited"), { force: false })._tag).toBe("Changed")
    expect(recheck(start, fresh("stopped", "16d247ca-23f5-4ffa-b590-7f732eddbf51"), { force: false })).toEqual({
      _tag: "Changed",
      detail: "the CVM is gone since the plan"
    })
  })

  it("does not act blind on an app it cannot re-read", () => {
    const failure = new FetchFailure({ appId: APP_ID, reason: "server", status: 503, message: "HTTP 503" })
    const check = recheck(start, diffApp(desiredApp(one), Observation.failed(failure)), { force: false })
    expect(check).toMatchObject({ _tag: "Unreadable" })
    expect(check._tag === "Unreadable" && check.detail).toContain("server: HTTP 503")
  })

  it("a forced stop is rechecked as a stop", () => {
    const shutdown: Action = { ...start, action: "shutdown", from: "running", to: "stopped" }
    const [stop] = withForce([shutdown], true)
    expect(stop?.action).toBe("stop")
    const report = diffApp(desiredApp({ ...one, status: "stopped" }), Observation.found(observedApp([cvm()])))
    expect(stop === undefined ? null : recheck(stop, report, { force: true })).toEqual({ _tag: "Go" })
    expect(withForce([start, shutdown], false)).toEqual([start, shutdown])
  })
})

describe("apply exit code and JSON", () => {
  it("0 when everything succeeded or was skipped, 1 when refused or anything failed", () => {
    expect(applyExitCode(null, [])).toBe(0)
    expect(applyExitCode(null, [{ action: start, result: "ok", detail: "" }, { action: start, result: "skipped", detail: "" }])).toBe(0)
    expect(applyExitCode(null, [{ action: start, result: "ok", detail: "" }, { action: start, result: "failed", detail: "" }])).toBe(1)
    expect(applyExitCode({ _tag: "TooMany", planned: 11, max: 10 }, [])).toBe(1)
    expect(applyJson([start], { _tag: "TooMany", planned: 11, max: 10 }, [])).toEqual({
      apply_version: "1",
      refused: "max_actions",
      planned: [start],
      results: []
    })
  })
})

describe("saved plan", () => {
  const snapshot = {
    generatedAt: new Date("2026-12-01T00:00:00.000Z"),
    apps: [diffApp(desiredApp(one), Observation.found(observedApp([cvm({ status: "stopped" })])))]
  }
  const digest = configDigest("version: 1\n")

  it("round-trips the plan, its text, the config digest and the --app selection", () => {
    const text = encodeSavedPlan(planJson(snapshot), "the text", { path: "c.yaml", digest }, ["payments-api"])
    const decoded = decodeSavedPlan(text)
    expect(Either.isRight(decoded)).toBe(true)
    if (Either.isLeft(decoded)) return
    expect(decoded.right).toMatchObject({ configPath: "c.yaml", configDigest: digest, apps: ["payments-api"], text: "the text" })
    expect(decoded.right.actions).toEqual([start])
    expect(decoded.right.document).toEqual(JSON.parse(JSON.stringify(planJson(snapshot))))
  })

  it("the digest changes with any byte of the config", () => {
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(configDigest("version: 1\n ")).not.toBe(digest)
  })

  it("refuses what is not a saved plan, or an action it would not take", () => {
    expect(Either.getLeft(decodeSavedPlan("{}"))._tag).toBe("Some")
    expect(Either.getLeft(decodeSavedPlan("not json"))._tag).toBe("Some")
    const tampered = JSON.parse(encodeSavedPlan(planJson(snapshot), "", { path: "c.yaml", digest }, [])) as {
      plan: { actions: Array<{ action: string }> }
    }
    const [first] = tampered.plan.actions
    if (first !== undefined) first.action = "delete"
    const refused = decodeSavedPlan(JSON.stringify(tampered))
    expect(Either.isLeft(refused) && refused.left).toContain("not format 1.1")
  })
})
