import { spawnSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, fixture, freePort, type Proc, type Simulator, spawnCli, startSimulator, stopAll, waitFor } from "./support/harness.js"
import { type Prometheus, startPrometheus } from "./support/prometheus.js"

const KEY = "phak_e2e_daemon_7f3a9c21"
const PAYMENTS = "b000000000000000000000000000000000000001"
const REPLICA = "00000000-0000-4000-8000-00000000b102"

let sim: Simulator
let daemon: Proc
let base: string
let prometheus: Prometheus | undefined
let readyBeforeFirstCycle: number | undefined

beforeAll(async () => {
  sim = await startSimulator(fixture("e2e", "daemon.scenario.yaml"))
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  daemon = spawnCli(
    ["serve", "--config", fixture("e2e", "daemon.desired.yaml"), "--listen", `127.0.0.1:${port}`],
    cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY })
  )
  await waitFor("daemon /healthz", async () => {
    if (daemon.child.exitCode !== null) throw new Error(`daemon exited: ${daemon.stderr()}`)
    const r = await fetch(`${base}/healthz`)
    return r.ok ? true : undefined
  }, 20_000, 25)
  // the slow app keeps the first cycle busy for over a second
  readyBeforeFirstCycle = (await fetch(`${base}/readyz`)).status
  await waitFor("daemon ready", async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined))
})

afterAll(async () => {
  await prometheus?.stop()
  await stopAll()
})

const scrape = async (): Promise<string> => (await fetch(`${base}/metrics`)).text()

describe("serve", () => {
  it("is live at once and ready only after the first cycle", async () => {
    expect(readyBeforeFirstCycle).toBe(503)
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
  })

  it("serves the plan as JSON and as text", async () => {
    const json = (await (await fetch(`${base}/api/v1/plan`)).json()) as { format_version: string; summary: { apps: number } }
    expect(json.format_version).toBe("1.1")
    expect(json.summary.apps).toBe(3)
    const text = await (await fetch(`${base}/api/v1/plan?format=text`)).text()
    expect(text).toContain(`app "payments" (${PAYMENTS})`)
    expect((await fetch(`${base}/api/v1/plan?format=yaml`)).status).toBe(400)
    expect((await fetch(`${base}/nope`)).status).toBe(404)
  })

  it("passes promtool check metrics on a real scrape, plain and gzip", async () => {
    const text = await scrape()
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" })
    expect(check.stderr + check.stdout).toBe("")
    expect(check.status).toBe(0)
    const gz = await fetch(`${base}/metrics`, { headers: { "accept-encoding": "gzip" } })
    expect(gz.headers.get("content-encoding")).toBe("gzip")
    expect(await gz.text()).toContain("phala_drift_build_info")
  })

  it("escapes hostile names from the API in the exposition, and Prometheus ingests them", async () => {
    const text = await scrape()
    expect(text).toContain(`app_name="evil \\"quoted\\" back\\\\slash\\nnewline ünïcødé 🚀"`)
    expect(text).toContain(`cvm_name="cvm \\"q\\" \\\\ x"`)
  })

  it("never shows the API key in metrics, plan or logs", async () => {
    const everything = [await scrape(), await (await fetch(`${base}/api/v1/plan`)).text(), daemon.stdout(), daemon.stderr()].join("\n")
    expect(everything).not.toContain(KEY)
  })

  it("a real Prometheus sees a stopped CVM, and the series of a removed CVM goes away", async () => {
    prometheus = await startPrometheus(base.replace("http://", ""))
    const prom = prometheus
    await waitFor("target up", async () => ((await prom.query(`up{job="phala-drift"} == 1`)).length === 1 ? true : undefined), 30_000, 250)
    await waitFor("running series", async () =>
      (await prom.query(`phala_cvm_status{vm_uuid="${REPLICA}",status="running"} == 1`)).length === 1 ? true : undefined, 30_000, 250)

    expect((await sim.admin("PUT", `/_sim/apps/${PAYMENTS}/cvms/${REPLICA}/status`, { status: "stopped" })).ok).toBe(true)
    await waitFor("stopped == 1", async () =>
      (await prom.query(`phala_cvm_status{vm_uuid="${REPLICA}",status="stopped"} == 1`)).length === 1 ? true : undefined, 30_000, 250)
    const drift = await prom.query(`phala_app_drift{app_id="${PAYMENTS}",kind="status"}`)
    expect(drift.map((s) => s.value[1])).toEqual(["1"])

    expect((await sim.admin("DELETE", `/_sim/apps/${PAYMENTS}/cvms/${REPLICA}`)).status).toBe(204)
    await waitFor("series gone", async () =>
      (await prom.query(`phala_cvm_status{vm_uuid="${REPLICA}"}`)).length === 0 ? true : undefined, 30_000, 250)
    expect((await prom.query(`phala_app_replicas{app_id="${PAYMENTS}"}`)).map((s) => s.value[1])).toEqual(["1"])
    expect((await prom.query(`phala_app_sync_status{app_id="${PAYMENTS}",status="in_sync"}`)).map((s) => s.value[1])).toEqual(["1"])
    const hostile = await prom.query(`phala_app_up{app_id="b000000000000000000000000000000000000003"}`)
    expect(hostile.map((s) => s.metric["app_name"])).toEqual(["evil \"quoted\" back\\slash\nnewline ünïcødé 🚀"])
  }, 120_000)

  it("stays live during an API outage and marks apps unknown", async () => {
    expect((await sim.admin("PUT", `/_sim/apps/${PAYMENTS}/faults`, { statuses: Array(50).fill(500) })).ok).toBe(true)
    await waitFor("payments unknown", async () => {
      const text = await scrape()
      return text.includes(`phala_app_fetch_failure{app_id="${PAYMENTS}",app_name="payments",reason="server"} 1`) ? true : undefined
    }, 30_000, 250)
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
    const text = await scrape()
    expect(text).toContain(`phala_app_up{app_id="${PAYMENTS}",app_name="payments"} 0`)
    expect(text).toMatch(/phala_drift_api_requests_total\{code="500",endpoint="app"\} [1-9]/)
    await sim.admin("DELETE", `/_sim/apps/${PAYMENTS}/faults`)
  }, 60_000)

  it("exits 0 within a few seconds of SIGTERM", async () => {
    const started = Date.now()
    const code = await daemon.stop("SIGTERM")
    expect(code).toBe(0)
    expect(Date.now() - started).toBeLessThan(5_000)
  })
})
