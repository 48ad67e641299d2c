import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import { writeFileSync } from "node:fs"
import type { Socket } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { verifySignature } from "../../src/Alerts/Receivers/Signature.js"
import { type Alertmanager, startAlertmanager } from "./support/alertmanager.js"
import { alertingConfig, PAYMENTS } from "./support/config.js"
import { afterCycles, cycleStats, settled } from "./support/cycles.js"
import { cleanEnv, fixture, freePort, type Proc, type Simulator, spawnCli, startSimulator, stopAll, tempDir, waitFor } from "./support/harness.js"

const KEY = "phak_e2e_daemon_7f3a9c21"
const HOOK_TOKEN = "hook-token-0b7d55e1a2"
const HOOK_SECRET = "hook-secret-c39f04d8b6"
const REPLICA = "00000000-0000-4000-8000-00000000b102"

const desired = (alerting: string) => alertingConfig(alerting)

interface Daemon {
  readonly proc: Proc
  readonly base: string
}

const startDaemon = async (sim: Simulator, configPath: string, stateDir: string): Promise<Daemon> => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const proc = spawnCli(
    ["serve", "--config", configPath, "--listen", `127.0.0.1:${port}`, "--state-dir", stateDir],
    cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY, HOOK_TOKEN, HOOK_SECRET })
  )
  await waitFor("daemon ready", async () => {
    if (proc.child.exitCode !== null) throw new Error(proc.stderr())
    return (await fetch(`${base}/readyz`)).ok ? true : undefined
  })
  return { proc, base }
}

interface AlertJson {
  alertname: string
  state: string
  labels: Record<string, string>
  firing_since: string | null
}
const activeAlerts = async (d: Daemon): Promise<ReadonlyArray<AlertJson>> =>
  ((await (await fetch(`${d.base}/api/v1/alerts`)).json()) as { alerts: ReadonlyArray<AlertJson> }).alerts
const replicaAlert = (alerts: ReadonlyArray<AlertJson>) =>
  alerts.find((a) => a.alertname === "PhalaCvmStatusDrift" && a.labels["vm_uuid"] === REPLICA)

let sim: Simulator
let am: Alertmanager | undefined
const servers: Array<Server> = []

beforeAll(async () => {
  sim = await startSimulator(fixture("e2e", "daemon.scenario.yaml"))
})
afterAll(async () => {
  await am?.stop()
  for (const s of servers) s.close()
  await stopAll()
})

const setReplica = async (status: string) => {
  const r = await sim.admin("PUT", `/_sim/apps/${PAYMENTS}/cvms/${REPLICA}/status`, { status })
  expect(r.ok).toBe(true)
}

describe("Alertmanager receiver", () => {
  it("delivers PhalaCvmStatusDrift for the drifted vm_uuid and resolves it when the CVM is back", async () => {
    await sim.admin("POST", "/_sim/reset")
    am = await startAlertmanager()
    const alertmanager = am
    const configPath = join(tempDir(), "desired.yaml")
    writeFileSync(configPath, desired([
      "alerting:",
      "  resend_interval: 2s",
      "  external_url: http://drift.example:9477",
      `  receivers: [{ name: am, type: alertmanager, urls: ["${alertmanager.url}"] }]`,
      "  default_receivers: [am]"
    ].join("\n")))
    const daemon = await startDaemon(sim, configPath, tempDir())

    await setReplica("stopped")
    const delivered = await waitFor("alert in Alertmanager", async () => {
      const alerts = await alertmanager.alerts(`alertname="PhalaCvmStatusDrift"`)
      return alerts.find((a) => a.labels["vm_uuid"] === REPLICA)
    }, 30_000, 250)
    expect(delivered.labels).toMatchObject({
      alertname: "PhalaCvmStatusDrift",
      severity: "critical",
      app_id: PAYMENTS,
      app_name: "payments",
      team: "payments",
      vm_uuid: REPLICA,
      cvm_name: "payments-1"
    })
    expect(delivered.status.state).toBe("active")
    expect(delivered.annotations["description"]).toMatch(/running/)
    expect(delivered.annotations["description"]).toMatch(/stopped/)
    // the alert's link opens the status page on this app's row
    expect(delivered.generatorURL).toBe(`http://drift.example:9477/?app=${PAYMENTS}#app-${PAYMENTS}`)
    const landing = new URL(delivered.generatorURL)
    const landed = await (await fetch(`${daemon.base}/${landing.search}`)).text()
    expect(landed).toContain(`id="${landing.hash.slice(1)}"`)
    expect(landed.match(/<tr class="row-\w+" id="app-/g)).toHaveLength(1)
    // the lease runs well past the resend interval
    expect(Date.parse(delivered.endsAt) - Date.now()).toBeGreaterThan(5_000)
    const page = await (await fetch(`${daemon.base}/`)).text()
    expect(page).toContain("PhalaCvmStatusDrift")
    expect(page).toContain("payments-1")

    await setReplica("running")
    await waitFor("alert resolved in Alertmanager", async () => {
      const alerts = await alertmanager.alerts(`alertname="PhalaCvmStatusDrift"`)
      const still = alerts.find((a) => a.labels["vm_uuid"] === REPLICA && Date.parse(a.endsAt) > Date.now())
      return still === undefined ? true : undefined
    }, 30_000, 250)
    expect(replicaAlert(await activeAlerts(daemon))).toBeUndefined()
    const metrics = await (await fetch(`${daemon.base}/metrics`)).text()
    expect(metrics).toMatch(/phala_drift_notifications_total\{receiver="am",result="success"\} [1-9]/)
    await daemon.proc.stop()
  }, 120_000)
})

describe("a hanging Alertmanager", () => {
  it("does not hold up cycles, metrics or readiness", async () => {
    await sim.admin("POST", "/_sim/reset")
    const sockets = new Set<Socket>()
    const hanging = createServer(() => { /* accepts and never answers */ })
    hanging.on("connection", (socket) => { sockets.add(socket) })
    servers.push(hanging)
    const port = await freePort()
    await new Promise<void>((resolve) => hanging.listen(port, "127.0.0.1", () => resolve()))
    const configPath = join(tempDir(), "desired.yaml")
    writeFileSync(configPath, desired([
      "alerting:",
      "  resend_interval: 2s",
      `  receivers: [{ name: am, type: alertmanager, urls: ["http://127.0.0.1:${port}"], timeout: 5s }]`,
      "  default_receivers: [am]"
    ].join("\n")))
    await setReplica("stopped")
    const daemon = await startDaemon(sim, configPath, tempDir())
    await waitFor("alert firing", async () => (replicaAlert(await activeAlerts(daemon))?.state === "firing" ? true : undefined), 30_000, 200)
    await waitFor("a request reached the hanging Alertmanager", async () => (sockets.size > 0 ? true : undefined), 30_000, 100)
    // every Alertmanager post hangs for its 5 s timeout; cycles go on meanwhile, and none of them waits for a post
    const before = await cycleStats(daemon.base, 5)
    await afterCycles(daemon.base, 3)
    const after = await cycleStats(daemon.base, 5)
    expect(after.done - before.done).toBeGreaterThanOrEqual(3)
    expect(after.slow - before.slow).toBe(0)
    for (const socket of sockets) socket.destroy()
    expect(await daemon.proc.stop()).toBe(0)
    await setReplica("running")
  }, 120_000)
})

interface Received {
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

const listenHook = (port: number, received: Array<Received>): Promise<Server> =>
  new Promise((resolve) => {
    const server = createServer((req, res) => {
      let body = ""
      req.setEncoding("utf8").on("data", (d: string) => { body += d }).on("end", () => {
        received.push({ headers: req.headers, body })
        res.writeHead(200).end("ok")
      })
    })
    servers.push(server)
    server.listen(port, "127.0.0.1", () => resolve(server))
  })

describe("webhook receiver", () => {
  it("gets every notification exactly once per state change, in order, across a receiver outage and a daemon restart", async () => {
    await sim.admin("POST", "/_sim/reset")
    const hookPort = await freePort()
    const configPath = join(tempDir(), "desired.yaml")
    writeFileSync(configPath, desired([
      "alerting:",
      "  resend_interval: 2s",
      "  receivers:",
      `    - { name: hook, type: webhook, url: "http://127.0.0.1:${hookPort}/hook", bearer_token: "\${HOOK_TOKEN}", hmac_secret: "\${HOOK_SECRET}", timeout: 2s }`,
      "  default_receivers: [hook]"
    ].join("\n")))
    const stateDir = tempDir()

    // the receiver is down: nothing listens on its port
    const first = await startDaemon(sim, configPath, stateDir)
    await setReplica("stopped")
    const firing = await waitFor("alert firing", async () => {
      const alert = replicaAlert(await activeAlerts(first))
      return alert?.state === "firing" ? alert : undefined
    }, 30_000, 200)
    await waitFor("queued", async () =>
      /phala_drift_notification_queue_length\{receiver="hook"\} 1/.test(await (await fetch(`${first.base}/metrics`)).text()) ? true : undefined)
    expect(await first.proc.stop()).toBe(0)

    // mid-incident restart: the firing alert is resumed, not re-announced
    const second = await startDaemon(sim, configPath, stateDir)
    const resumed = replicaAlert(await activeAlerts(second))
    expect(resumed?.state).toBe("firing")
    expect(resumed?.firing_since).toBe(firing.firing_since)
    await setReplica("running")
    await waitFor("alert resolved", async () => (replicaAlert(await activeAlerts(second)) === undefined ? true : undefined), 30_000, 200)

    // the receiver comes back
    const received: Array<Received> = []
    await listenHook(hookPort, received)
    await waitFor("two notifications", async () => (received.length >= 2 ? true : undefined), 60_000, 200)
    // a few more cycles (longer than resend_interval) and an empty outbox: nothing more is on its way
    await settled(second.base, "hook")
    expect(received).toHaveLength(2)

    const payloads = received.map((r) => JSON.parse(r.body) as { version: string; status: string; alerts: ReadonlyArray<{ status: string; labels: Record<string, string> }> })
    expect(payloads.map((p) => [p.version, p.status, p.alerts[0]?.status, p.alerts[0]?.labels["vm_uuid"]])).toEqual([
      ["4", "firing", "firing", REPLICA],
      ["4", "resolved", "resolved", REPLICA]
    ])
    for (const r of received) {
      expect(r.headers["authorization"]).toBe(`Bearer ${HOOK_TOKEN}`)
      expect(verifySignature({
        secret: HOOK_SECRET,
        body: r.body,
        timestamp: String(r.headers["x-phala-drift-timestamp"]),
        signature: String(r.headers["x-phala-drift-signature"])
      })).toBe(true)
    }
    expect(new Set(received.map((r) => r.headers["x-phala-drift-event-id"])).size).toBe(2)
    const logs = second.proc.stderr() + second.proc.stdout()
    for (const secret of [KEY, HOOK_TOKEN, HOOK_SECRET, `127.0.0.1:${hookPort}/hook`]) expect(logs).not.toContain(secret)
    await second.proc.stop()
  }, 180_000)
})
