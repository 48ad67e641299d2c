import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import { evaluate } from "../../src/Core/Alerting/Rules.js"
import type { Alert } from "../../src/Core/Domain/Alert.js"
import { FetchFailure, Observation } from "../../src/Core/Domain/Observation.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import type { FailedRemediation } from "../../src/Core/Remediation.js"
import { APP_ID, cvm, desiredApp, observedApp } from "../support/builders.js"

const T0 = Date.parse("2026-12-01T03:00:00Z")
const UUID = "c48d9363-21b2-4f4a-87d9-3496623f020d"
const app = desiredApp({ replicas: { min: 1, max: 1 }, for: Duration.minutes(5), remediate: true, labels: { team: "payments" } })
const stopped = diffApp(app, Observation.found(observedApp([cvm({ status: "stopped" })])))
const unknown = diffApp(app, Observation.failed(new FetchFailure({ appId: APP_ID, reason: "timeout", status: null, message: "slow" })))
const snap = (...apps: Snapshot["apps"]): Snapshot => ({ generatedAt: new Date(T0), apps })
const gaveUp: FailedRemediation = { appId: APP_ID, appName: "payments-api", vmUuid: UUID, cvmName: "payments-api", attempts: 3, incidentSince: T0 - 60_000 }

const step = (previous: ReadonlyMap<string, Alert>, now: number, snapshot: Snapshot, failed: ReadonlyArray<FailedRemediation>) =>
  evaluate({ snapshot, previous, now, externalUrl: "http://d:9477", remediationFailed: failed })

describe("PhalaRemediationFailed", () => {
  it("fires at once (the attempts already waited), with the CVM's labels, and resolves when the CVM is no longer given up on", () => {
    const first = step(new Map(), T0, snap(stopped), [gaveUp])
    const alert = [...first.alerts.values()].find((a) => a.name === "PhalaRemediationFailed")
    expect(alert?.state).toBe("firing")
    expect(alert?.labels).toMatchObject({ alertname: "PhalaRemediationFailed", app_id: APP_ID, vm_uuid: UUID, cvm_name: "payments-api", team: "payments" })
    expect(alert?.annotations["summary"]).toContain("after 3 attempts")
    expect(first.events.map((e) => `${e.kind}:${e.alert.name}`)).toContain("firing:PhalaRemediationFailed")
    // the status drift itself still waits for its `for`
    expect([...first.alerts.values()].find((a) => a.name === "PhalaCvmStatusDrift")?.state).toBe("pending")
    const held = step(first.alerts, T0 + 30_000, snap(unknown), [gaveUp])
    expect([...held.alerts.values()].find((a) => a.name === "PhalaRemediationFailed")?.state).toBe("firing")
    const cleared = step(held.alerts, T0 + 60_000, snap(stopped), [])
    expect(cleared.events.map((e) => `${e.kind}:${e.alert.name}`)).toEqual(["resolved:PhalaRemediationFailed"])
  })

  it("nothing without a failed remediation", () => {
    const result = step(new Map(), T0, snap(stopped), [])
    expect([...result.alerts.values()].some((a) => a.name === "PhalaRemediationFailed")).toBe(false)
  })
})
