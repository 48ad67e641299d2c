import { describe, expect, it } from "@effect/vitest"
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { FetchFailure, Observation } from "../../src/Core/Domain/Observation.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { planExitCode, planJson } from "../../src/Core/Plan/PlanJson.js"
import { planText } from "../../src/Core/Plan/PlanText.js"
import { cvm, desiredApp, observedApp, twoReplicas } from "../support/builders.js"

const golden = (name: string, actual: string): void => {
  const path = fileURLToPath(new URL(`../golden/${name}`, import.meta.url))
  if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(path, actual)
  expect(actual).toBe(readFileSync(path, "utf8"))
}

const ids = {
  payments: "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4",
  billing: "b1111111111111111111111111111111111111bb",
  batch: "c2222222222222222222222222222222222222cc",
  legacy: "d3333333333333333333333333333333333333dd"
}

export const fleet = (): Snapshot => ({
  generatedAt: new Date("2026-11-28T16:00:00.000Z"),
  apps: [
    diffApp(
      desiredApp({ appId: ids.payments, cvm: { instance_type: "tdx.large" } }),
      Observation.found(observedApp([
        cvm(),
        cvm({ vmUuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51", name: "payments-api-replica-1", status: "stopped", instanceType: "tdx.medium" })
      ], { appId: ids.payments }))
    ),
    diffApp(
      desiredApp({ appId: ids.billing, name: "billing" }),
      Observation.failed(new FetchFailure({ appId: ids.billing, reason: "rate_limited", status: 429, message: "Rate limit exceeded" }))
    ),
    diffApp(
      desiredApp({ appId: ids.batch, name: "batch-job", status: "stopped", replicas: { min: 1, max: 1 } }),
      Observation.found(observedApp([cvm({ vmUuid: "5d0c3f7e-2b1a-4c9d-8e7f-6a5b4c3d2e1f", name: "batch-job", status: "Stopped" })], { appId: ids.batch }))
    ),
    diffApp(desiredApp({ appId: ids.legacy, name: "legacy-worker" }), Observation.notFound),
    diffApp(
      desiredApp({ appId: "e4444444444444444444444444444444444444ee", name: "search", replicas: { min: 2, max: 4 } }),
      Observation.found(observedApp([cvm({ name: "search-0", status: "starting" })]))
    )
  ]
})

describe("plan JSON", () => {
  it("matches the format of DESIGN.md §5", () => {
    golden("plan.json", JSON.stringify(planJson(fleet()), null, 2) + "\n")
  })

  it("summarises sync states and drift count", () => {
    expect(planJson(fleet()).summary).toEqual({ apps: 5, in_sync: 1, out_of_sync: 3, unknown: 1, drifts: 5 })
  })

  it("encodes every drift kind with the contract's fields", () => {
    const drifts = planJson(fleet()).apps.flatMap((a) => a.drifts)
    expect(drifts).toContainEqual({
      kind: "status",
      vm_uuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51",
      cvm_name: "payments-api-replica-1",
      field: "status",
      desired: "running",
      actual: "stopped"
    })
    expect(drifts).toContainEqual({
      kind: "attribute",
      vm_uuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51",
      cvm_name: "payments-api-replica-1",
      field: "instance_type",
      desired: "tdx.large",
      actual: "tdx.medium"
    })
    expect(drifts).toContainEqual({ kind: "missing_app", vm_uuid: null, cvm_name: null, field: "app", desired: "present", actual: "absent" })
    expect(drifts).toContainEqual({ kind: "replicas", vm_uuid: null, cvm_name: null, field: "replicas", desired: { min: 2, max: 4 }, actual: 1 })
  })

  it("format 1.1 lists what apply would do in top-level actions", () => {
    const plan = planJson(fleet())
    expect(plan.format_version).toBe("1.1")
    expect(plan.actions).toEqual([{
      app_id: ids.payments,
      vm_uuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51",
      cvm_name: "payments-api-replica-1",
      action: "start",
      from: "stopped",
      to: "running"
    }])
  })

  it("an unknown app carries its error and no drift", () => {
    const billing = planJson(fleet()).apps.find((a) => a.name === "billing")
    expect(billing).toEqual({
      app_id: ids.billing,
      name: "billing",
      sync: "unknown",
      error: { reason: "rate_limited", status: 429, message: "Rate limit exceeded" },
      observed: null,
      drifts: []
    })
  })

  it.each([
    [{ apps: 1, in_sync: 1, out_of_sync: 0, unknown: 0, drifts: 0 }, 0],
    [{ apps: 0, in_sync: 0, out_of_sync: 0, unknown: 0, drifts: 0 }, 0],
    [{ apps: 2, in_sync: 1, out_of_sync: 1, unknown: 0, drifts: 1 }, 2],
    [{ apps: 2, in_sync: 0, out_of_sync: 1, unknown: 1, drifts: 1 }, 2],
    [{ apps: 2, in_sync: 1, out_of_sync: 0, unknown: 1, drifts: 0 }, 3]
  ])("exit code for %o is %i", (summary, code) => {
    expect(planExitCode(summary)).toBe(code)
  })
})

describe("plan text", () => {
  it("renders a Terraform-like report without colour", () => {
    const text = planText(fleet(), { color: false })
    golden("plan.txt", text)
    expect(text).not.toContain("\u001b[")
  })

  it("renders with ANSI colour when asked", () => {
    const text = planText(fleet(), { color: true })
    golden("plan-color.txt", text)
    expect(text).toContain("\u001b[33m~\u001b[0m")
  })

  it("marks a shutdown, a forced stop and the footer counts", () => {
    const snapshot: Snapshot = {
      generatedAt: new Date(0),
      apps: [
        diffApp(
          desiredApp({ name: "batch", status: "stopped", replicas: { min: 1, max: 1 } }),
          Observation.found(observedApp([cvm({ name: "batch-0" })]))
        )
      ]
    }
    const text = planText(snapshot, { color: false })
    expect(text).toContain(`~ status = "stopped" -> "running" (degraded)  # apply: shut down`)
    expect(text.trimEnd().split("\n").at(-1)).toBe("Plan: 1 to shut down.")
    const forced = planText(snapshot, { color: false, force: true })
    expect(forced).toContain("# apply: stop (forced)")
    expect(forced).toContain("Plan: 1 to stop (forced).")
    expect(planJson(snapshot, { force: true }).actions).toMatchObject([{ action: "stop", from: "running", to: "stopped" }])
  })

  it("says so when everything is in sync", () => {
    const text = planText({
      generatedAt: new Date(0),
      apps: [diffApp(desiredApp(), Observation.found(observedApp(twoReplicas())))]
    }, { color: false })
    expect(text).toContain("No drift. Every app matches its desired state.")
    expect(text).toContain("Plan: 1 in sync, 0 out of sync, 0 unknown, 0 drifts (1 app).")
    expect(text).toContain("Plan: nothing to do.")
  })
})
