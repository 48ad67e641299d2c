import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { afterCycles, seriesValue } from "./support/cycles.js"
import { cleanEnv, type Daemon, type Simulator, startServe, startSimulator, stopAll, tempDir, testConfigHead, waitFor, writeTemp } from "./support/harness.js"

const KEY = "phak_e2e_heal_5d1c0a77"
const HEALED = "c000000000000000000000000000000000000001"
const HEALED_CVM = "00000000-0000-4000-8000-00000000c101"
const MANUAL = "c000000000000000000000000000000000000002"
const MANUAL_CVM = "00000000-0000-4000-8000-00000000c201"

const scenario = [
  `api_keys: [${KEY}]`,
  "transition_delay: 1s",
  "apps:",
  `  - app_id: ${HEALED}`,
  "    name: healed",
  `    cvms: [{ vm_uuid: ${HEALED_CVM}, name: healed-0, status: running }]`,
  `  - app_id: ${MANUAL}`,
  "    name: manual",
  `    cvms: [{ vm_uuid: ${MANUAL_CVM}, name: manual-0, status: running }]`,
  ""
].join("\n")

const desired = (remediation: string) => [
  ...testConfigHead,
  "server:",
  "  lifecycle: true",
  `remediation: ${remediation}`,
  "defaults:",
  "  for: 1s",
  "apps:",
  `  - app_id: ${HEALED}`,
  "    remediate: true",
  `  - app_id: ${MANUAL}`,
  ""
].join("\n")

interface ActionJson {
  readonly id: string
  readonly at: string
  readonly app_id: string
  readonly vm_uuid: string
  readonly action: string
  readonly result: string
  readonly reason: string | null
  readonly attempt: number
}

let sim: Simulator
let dir: string
let configPath: string
let daemon: Daemon
const env = () => cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY })

const actions = async (d: Daemon): Promise<ReadonlyArray<ActionJson>> =>
  ((await (await fetch(`${d.base}/api/v1/actions`)).json()) as { actions: ReadonlyArray<ActionJson> }).actions
const setStatus = (appId: string, vmUuid: string, status: string) =>
  sim.admin("PUT", `/_sim/apps/${appId}/cvms/${vmUuid}/status`, { status })
const simStatus = async (appId: string, vmUuid: string): Promise<string | undefined> => {
  const state = (await (await sim.admin("GET", "/_sim/state")).json()) as {
    apps: ReadonlyArray<{ app_id: string; cvms: ReadonlyArray<{ vm_uuid: string; status: string }> }>
  }
  return state.apps.find((a) => a.app_id === appId)?.cvms.find((c) => c.vm_uuid === vmUuid)?.status
}
const metric = async (d: Daemon, series: string) => seriesValue(await (await fetch(`${d.base}/metrics`)).text(), series)

beforeAll(async () => {
  dir = tempDir("phala-drift-heal-")
  sim = await startSimulator(writeTemp("heal.scenario.yaml", scenario, dir))
  configPath = writeTemp("desired.yaml", desired("{ enabled: true, cooldown: 3s, max_attempts: 3 }"), dir)
  daemon = await startServe(configPath, env(), { args: ["--state-dir", join(dir, "state")] })
})

afterAll(async () => {
  await stopAll()
})

describe("self-healing in serve", () => {
  it("starts the stopped CVM of a remediate: true app, and not the other app's", { timeout: 90_000 }, async () => {
    expect(await metric(daemon, `phala_drift_remediation_actions_total{action="start",result="ok"}`)).toBe(0)
    await setStatus(HEALED, HEALED_CVM, "stopped")
    await setStatus(MANUAL, MANUAL_CVM, "stopped")
    const ok = await waitFor("a successful start", async () =>
      (await actions(daemon)).find((a) => a.vm_uuid === HEALED_CVM && a.result === "ok"), 30_000, 200)
    expect(ok.action).toBe("start")
    expect(ok.attempt).toBe(1)
    await waitFor("the healed CVM running", async () => ((await simStatus(HEALED, HEALED_CVM)) === "running" ? true : undefined), 30_000, 200)
    await afterCycles(daemon.base, 3)
    expect(await simStatus(MANUAL, MANUAL_CVM)).toBe("stopped")
    const all = await actions(daemon)
    expect(all.some((a) => a.app_id === MANUAL)).toBe(false)
    // newest first: the result after its intent, same id
    const intent = all.find((a) => a.id === ok.id && a.result === "intent")
    expect(intent).toBeDefined()
    expect(all.indexOf(ok)).toBeLessThan(all.findIndex((a) => a.id === ok.id && a.result === "intent"))
    expect(await metric(daemon, `phala_drift_remediation_actions_total{action="start",result="ok"}`)).toBe(1)
    // the action's request is counted with the API's other requests, under its own endpoint
    expect(await metric(daemon, `phala_drift_api_requests_total{code="200",endpoint="action"}`)).toBe(1)
    const plan = (await (await fetch(`${daemon.base}/api/v1/plan`)).json()) as { apps: ReadonlyArray<{ app_id: string; sync: string }> }
    expect(plan.apps.find((a) => a.app_id === HEALED)?.sync).toBe("in_sync")
    expect(plan.apps.find((a) => a.app_id === MANUAL)?.sync).toBe("out_of_sync")
  })

  it("records intent and result in state_dir/actions.jsonl, and the page shows the action", async () => {
    const lines = readFileSync(join(dir, "state", "actions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ActionJson)
    const results = lines.filter((l) => l.vm_uuid === HEALED_CVM).map((l) => l.result)
    expect(results.indexOf("intent")).toBeGreaterThanOrEqual(0)
    expect(results.indexOf("ok")).toBeGreaterThan(results.indexOf("intent"))
    const page = await (await fetch(`${daemon.base}/`)).text()
    expect(page).toContain("Self-healing")
    expect(page).toContain("healed-0")
    expect(page).toMatch(/badge[^>]*>[^<]*ok/)
  })

  it("a reload turns it off: a stopped CVM stays stopped", { timeout: 90_000 }, async () => {
    writeFileSync(configPath, desired("{ enabled: false, cooldown: 3s }"))
    const reload = await fetch(`${daemon.base}/-/reload`, { method: "POST" })
    expect(await reload.json()).toEqual({ status: "reloaded" })
    const before = (await actions(daemon)).length
    await setStatus(HEALED, HEALED_CVM, "stopped")
    // beyond `for` and the cooldown, several cycles
    const stoppedAt = Date.now()
    await afterCycles(daemon.base, 4)
    await waitFor("cooldown elapsed", async () => (Date.now() - stoppedAt > 4000 ? true : undefined))
    await afterCycles(daemon.base, 2)
    expect(await simStatus(HEALED, HEALED_CVM)).toBe("stopped")
    expect((await actions(daemon)).length).toBe(before)
    expect((await (await fetch(`${daemon.base}/api/v1/actions`)).json()).enabled).toBe(false)
    // and on again
    writeFileSync(configPath, desired("{ enabled: true, cooldown: 3s }"))
    expect((await (await fetch(`${daemon.base}/-/reload`, { method: "POST" })).json()).status).toBe("reloaded")
    await waitFor("healed again", async () => ((await simStatus(HEALED, HEALED_CVM)) === "running" ? true : undefined), 30_000, 200)
  })

  it("SIGTERM leaves only whole records", async () => {
    await daemon.proc.stop("SIGTERM")
    const text = readFileSync(join(dir, "state", "actions.jsonl"), "utf8")
    expect(text.endsWith("\n")).toBe(true)
    const records = text.trim().split("\n").map((l) => JSON.parse(l) as ActionJson)
    // every intent has its result
    for (const intent of records.filter((r) => r.result === "intent")) {
      expect(records.some((r) => r.id === intent.id && (r.result === "ok" || r.result === "failed"))).toBe(true)
    }
  })

  it("after a crash between an action and its record, a restart does not repeat it within its cooldown", { timeout: 90_000 }, async () => {
    // the state a kill -9 leaves when it strikes after the intent was fsync'd: an intent without a result
    const stateDir = join(dir, "crashed")
    mkdirSync(stateDir)
    const now = Date.now()
    const intent = {
      id: "crash-1",
      at: new Date(now - 5000).toISOString(),
      app_id: HEALED,
      app_name: "healed",
      vm_uuid: HEALED_CVM,
      cvm_name: "healed-0",
      action: "start",
      from: "stopped",
      to: "running",
      result: "intent",
      reason: null,
      detail: "attempt 1",
      attempt: 1,
      incident_since: new Date(now - 60_000).toISOString()
    }
    // and a torn line after it (the write of the result cut in the middle)
    writeFileSync(join(stateDir, "actions.jsonl"), `${JSON.stringify(intent)}\n{"id":"crash-1","at":"20`)
    await setStatus(HEALED, HEALED_CVM, "stopped")
    const restartConfig = writeTemp("restart.yaml", desired("{ enabled: true, cooldown: 10m }"), dir)
    const second = await startServe(restartConfig, env(), { args: ["--state-dir", stateDir] })
    const skipped = await waitFor("a cooldown skip", async () =>
      (await actions(second)).find((a) => a.vm_uuid === HEALED_CVM && a.result === "skipped"), 30_000, 200)
    expect(skipped.reason).toBe("cooldown")
    await afterCycles(second.base, 4)
    expect(await simStatus(HEALED, HEALED_CVM)).toBe("stopped")
    const after = await actions(second)
    expect(after.filter((a) => a.result === "intent").map((a) => a.id)).toEqual(["crash-1"])
    const text = readFileSync(join(stateDir, "actions.jsonl"), "utf8")
    // the next record starts on a line of its own
    expect(text.split("\n").filter((l) => l.includes("\"skipped\"")).every((l) => l.startsWith("{"))).toBe(true)
    await second.proc.stop("SIGTERM")
  })

  it("refused actions count as attempts; after max_attempts it stops and PhalaRemediationFailed fires", { timeout: 90_000 }, async () => {
    await sim.admin("PUT", `/_sim/apps/${MANUAL}/faults`, { actions: [403, 403, 403, 403] })
    await setStatus(MANUAL, MANUAL_CVM, "stopped")
    const text = [
      ...testConfigHead,
      "alerting: { resend_interval: 1m }",
      "remediation: { enabled: true, cooldown: 1s, max_attempts: 2 }",
      "defaults:",
      "  for: 0s",
      "apps:",
      `  - app_id: ${MANUAL}`,
      "    remediate: true",
      ""
    ].join("\n")
    const third = await startServe(writeTemp("give-up.yaml", text, dir), env(), { args: ["--state-dir", join(dir, "give-up")] })
    const gaveUp = await waitFor("max_attempts", async () =>
      (await actions(third)).find((a) => a.vm_uuid === MANUAL_CVM && a.reason === "max_attempts"), 60_000, 200)
    expect(gaveUp.result).toBe("skipped")
    const failed = (await actions(third)).filter((a) => a.vm_uuid === MANUAL_CVM && a.result === "failed")
    expect(failed.map((a) => [a.reason, a.attempt])).toEqual([["forbidden", 2], ["forbidden", 1]])
    const alert = await waitFor("PhalaRemediationFailed firing", async () => {
      const body = (await (await fetch(`${third.base}/api/v1/alerts`)).json()) as {
        alerts: ReadonlyArray<{ alertname: string; state: string; labels: Record<string, string> }>
      }
      return body.alerts.find((a) => a.alertname === "PhalaRemediationFailed" && a.state === "firing")
    }, 30_000, 200)
    expect(alert.labels["vm_uuid"]).toBe(MANUAL_CVM)
    await afterCycles(third.base, 3)
    expect((await actions(third)).filter((a) => a.result === "intent")).toHaveLength(2)
    expect(await metric(third, `phala_drift_remediation_actions_total{action="start",result="failed"}`)).toBe(2)
    expect(await metric(third, `phala_drift_remediation_actions_total{action="start",result="skipped"}`)).toBeGreaterThanOrEqual(1)
  })

  it("takes no action when its intent cannot be written to state_dir", { timeout: 90_000 }, async () => {
    expect(await simStatus(HEALED, HEALED_CVM)).toBe("stopped")
    // a regular file where state_dir should be: nothing can be written under it
    const blocked = writeTemp("not-a-dir", "x", dir)
    const fourth = await startServe(writeTemp("blocked.yaml", desired("{ enabled: true, cooldown: 1s }"), dir), env(), {
      args: ["--state-dir", blocked]
    })
    const refused = await waitFor("record_failed", async () =>
      (await actions(fourth)).find((a) => a.vm_uuid === HEALED_CVM && a.reason === "record_failed"), 30_000, 200)
    expect(refused.result).toBe("skipped")
    await afterCycles(fourth.base, 4)
    expect(await simStatus(HEALED, HEALED_CVM)).toBe("stopped")
    expect((await actions(fourth)).some((a) => a.result === "intent" || a.result === "ok")).toBe(false)
    expect(await metric(fourth, "phala_drift_state_write_failures_total")).toBeGreaterThan(0)
    expect(fourth.proc.stdout() + fourth.proc.stderr()).toContain("cannot append to the self-healing record")
  })
})
