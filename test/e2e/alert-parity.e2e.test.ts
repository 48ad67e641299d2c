import { readFileSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  cleanEnv,
  type Daemon,
  fixture,
  ROOT,
  type Simulator,
  startServe,
  startSimulator,
  stopAll,
  tempDir,
  testConfigHead,
  waitFor
} from "./support/harness.js"
import { type Prometheus, startPrometheus } from "./support/prometheus.js"

// One scenario through both alerting paths: the daemon's built-in engine and a real Prometheus evaluating
// deploy/prometheus/alerts.yml on the daemon's /metrics. Both must give the same alerts: names, label sets
// (Prometheus adds only the target's job and instance) and severities.

const KEY = "phak_e2e_parity_5d1e0b7c"
const PAYMENTS = "c000000000000000000000000000000000000001"
const SEARCH = "c000000000000000000000000000000000000002"
const BILLING = "c000000000000000000000000000000000000003"
const BATCH = "c000000000000000000000000000000000000004"
const PAYMENTS_0 = "00000000-0000-4000-8000-00000000c101"
const PAYMENTS_1 = "00000000-0000-4000-8000-00000000c102"
const APP_ALERTS = new Set(["PhalaAppMissing", "PhalaAppReplicasMismatch", "PhalaCvmStatusDrift", "PhalaCvmAttributeDrift", "PhalaAppUnobservable"])

type Labels = Readonly<Record<string, string>>

/** Label sets as sorted canonical JSON, so two paths can be compared whatever their order. */
const canonical = (sets: ReadonlyArray<Labels>): ReadonlyArray<string> =>
  sets.map((l) => JSON.stringify(Object.fromEntries(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : 1))))).sort()

const expected: ReadonlyArray<Labels> = [
  { alertname: "PhalaAppMissing", severity: "critical", app_id: BILLING, app_name: "billing", team: "billing" },
  { alertname: "PhalaAppReplicasMismatch", severity: "warning", app_id: SEARCH, app_name: "search", team: "search" },
  { alertname: "PhalaCvmStatusDrift", severity: "critical", app_id: PAYMENTS, app_name: "payments", team: "payments", vm_uuid: PAYMENTS_0, cvm_name: "payments-0" },
  { alertname: "PhalaCvmAttributeDrift", severity: "critical", app_id: PAYMENTS, app_name: "payments", team: "payments", vm_uuid: PAYMENTS_1, cvm_name: "payments-1" },
  { alertname: "PhalaAppUnobservable", severity: "warning", app_id: BATCH, app_name: "batch" }
]

interface BuiltInAlert {
  readonly alertname: string
  readonly state: string
  readonly labels: Labels
  readonly active_since: string
}

let sim: Simulator
let daemon: Daemon
let prometheus: Prometheus | undefined
let hook: Server | undefined

const desired = (hookUrl: string): string =>
  [
    ...testConfigHead,
    "defaults:",
    "  for: 2s",
    "alerting:",
    `  receivers: [{ name: sink, type: webhook, url: "${hookUrl}" }]`,
    "  default_receivers: [sink]",
    "apps:",
    `  - { app_id: ${PAYMENTS}, name: payments, labels: { team: payments }, severity: critical, replicas: 2, cvm: { node: prod6 } }`,
    `  - { app_id: ${SEARCH}, name: search, labels: { team: search }, replicas: 3 }`,
    `  - { app_id: ${BILLING}, name: billing, labels: { team: billing }, severity: critical }`,
    `  - { app_id: ${BATCH}, name: batch }`,
    ""
  ].join("\n")

/** deploy/prometheus/alerts.yml with every drift rule's `for: 2m` shortened to the test's 2s. */
const rulesCopy = (dir: string): string => {
  const original = readFileSync(join(ROOT, "deploy", "prometheus", "alerts.yml"), "utf8")
  expect(original.match(/^ {8}for: 2m$/gm)).toHaveLength(5)
  const path = join(dir, "alerts.yml")
  writeFileSync(path, original.replace(/^ {8}for: 2m$/gm, "        for: 2s"))
  return path
}

const builtIn = async (): Promise<ReadonlyArray<BuiltInAlert>> =>
  ((await (await fetch(`${daemon.base}/api/v1/alerts`)).json()) as { alerts: ReadonlyArray<BuiltInAlert> }).alerts

const withoutTarget = ({ instance: _instance, job: _job, ...rest }: Labels): Labels => rest

const firing = async () => {
  const prom = prometheus
  if (prom === undefined) throw new Error("Prometheus not started")
  const fromPrometheus = (await prom.alerts()).filter((a) => a.state === "firing" && APP_ALERTS.has(a.labels["alertname"] ?? ""))
  const fromDaemon = (await builtIn()).filter((a) => a.state === "firing")
  return {
    prometheus: fromPrometheus,
    daemon: fromDaemon,
    prometheusLabels: canonical(fromPrometheus.map((a) => withoutTarget(a.labels))),
    daemonLabels: canonical(fromDaemon.map((a) => a.labels))
  }
}

/** Polls until both paths fire exactly `want`, then returns what was seen last (so a mismatch shows as a diff). */
const converge = async (want: ReadonlyArray<string>) => {
  let last = await firing()
  try {
    await waitFor("both paths fire the expected alerts", async () => {
      last = await firing()
      return JSON.stringify(last.prometheusLabels) === JSON.stringify(want) && JSON.stringify(last.daemonLabels) === JSON.stringify(want)
        ? true
        : undefined
    }, 60_000, 250)
  } catch {
    // fall through: the assertions below show the difference
  }
  return last
}

beforeAll(async () => {
  sim = await startSimulator(fixture("e2e", "alert-parity.scenario.yaml"))
  expect((await sim.admin("PUT", `/_sim/apps/${BATCH}/faults`, { statuses: Array(5000).fill(500) })).ok).toBe(true)
  expect((await sim.admin("PUT", `/_sim/apps/${PAYMENTS}/cvms/${PAYMENTS_0}/status`, { status: "exited" })).ok).toBe(true)
  const server = createServer((req, res) => {
    req.resume()
    req.on("end", () => res.writeHead(200).end())
  })
  hook = server
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const dir = tempDir("phala-drift-parity-")
  const configPath = join(dir, "desired.yaml")
  writeFileSync(configPath, desired(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`))
  daemon = await startServe(configPath, cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY }), {
    args: ["--state-dir", join(dir, "state")]
  })
  prometheus = await startPrometheus(daemon.base.replace("http://", ""), [rulesCopy(dir)])
}, 120_000)

afterAll(async () => {
  await prometheus?.stop()
  hook?.close()
  await stopAll()
})

describe("the built-in engine and deploy/prometheus/alerts.yml", () => {
  it("fire the same alerts with the same labels and severities, and keep a CVM's alert when its health changes", async () => {
    const want = canonical(expected)
    const before = await converge(want)
    expect(before.daemonLabels).toEqual(want)
    expect(before.prometheusLabels).toEqual(want)
    // Prometheus adds exactly the target's labels, nothing else
    for (const a of before.prometheus) {
      expect(a.labels["job"]).toBe("phala-drift")
      expect(a.labels["instance"]).toBe(daemon.base.replace("http://", ""))
    }

    const statusAlert = (seen: Awaited<ReturnType<typeof firing>>) => ({
      prometheus: seen.prometheus.filter((a) => a.labels["alertname"] === "PhalaCvmStatusDrift").map((a) => a.activeAt),
      daemon: seen.daemon.filter((a) => a.alertname === "PhalaCvmStatusDrift").map((a) => a.active_since)
    })
    const degraded = statusAlert(before)
    expect(degraded.prometheus).toHaveLength(1)
    expect(degraded.daemon).toHaveLength(1)

    // degraded (exited) -> progressing (starting): still status drift, and the same alert on both paths
    expect((await sim.admin("PUT", `/_sim/apps/${PAYMENTS}/cvms/${PAYMENTS_0}/status`, { status: "starting" })).ok).toBe(true)
    const prom = prometheus
    if (prom === undefined) throw new Error("Prometheus not started")
    const progressing = `phala_cvm_health{vm_uuid="${PAYMENTS_0}",health="progressing"}`
    // the daemon renders its metrics after it evaluated its alerts on the same snapshot
    const daemonSeries = `phala_cvm_health{app_id="${PAYMENTS}",app_name="payments",vm_uuid="${PAYMENTS_0}",cvm_name="payments-0",health="progressing"} 1`
    await waitFor("the daemon evaluated a cycle with the CVM progressing", async () =>
      (await (await fetch(`${daemon.base}/metrics`)).text()).includes(daemonSeries) ? true : undefined, 30_000, 250)
    await waitFor("Prometheus scraped the CVM progressing", async () => ((await prom.query(`${progressing} == 1`)).length === 1 ? true : undefined), 30_000, 250)
    const seenAt = Date.now()
    await waitFor("Prometheus evaluated its rules after that", async () =>
      ((await prom.lastEvaluations()).get("phala-drift.drift") ?? 0) > seenAt ? true : undefined, 30_000, 250)

    const after = await firing()
    expect(after.daemonLabels).toEqual(want)
    expect(after.prometheusLabels).toEqual(want)
    expect(statusAlert(after)).toEqual(degraded)
  }, 180_000)
})
