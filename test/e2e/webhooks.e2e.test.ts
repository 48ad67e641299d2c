/**
 * Push end to end: the simulator sends real signed Phala Cloud webhooks to `serve` (polling every 60 s), which
 * re-reads the app at once. Everything is waited for by condition; "at once" is shown by arriving long before the
 * next poll could have run, and by the daemon's own latency histogram.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sign } from "../../src/Core/PhalaWebhook.js"
import { seriesValue } from "./support/cycles.js"
import { cleanEnv, type Daemon, type Simulator, sleep, startServe, startSimulator, stopAll, tempDir, waitFor, writeTemp } from "./support/harness.js"

const KEY = "phak_e2e_webhooks_5c1d"
const SECRET = "whsec_e2e_webhooks_0b7e44"
const WEB = "c000000000000000000000000000000000000001"
const API = "c000000000000000000000000000000000000002"
const SLOW = "c000000000000000000000000000000000000003"
const UNDECLARED = "c0000000000000000000000000000000000000ff"
const WEB_0 = "00000000-0000-4000-8000-00000000c101"
const WEB_1 = "00000000-0000-4000-8000-00000000c102"
const API_0 = "00000000-0000-4000-8000-00000000c201"

const scenario = `api_keys: [${KEY}]
default_version: "2025-10-28"
apps:
  - app_id: ${WEB}
    name: web
    cvms:
      - { vm_uuid: ${WEB_0}, name: web-0, status: running }
      - { vm_uuid: ${WEB_1}, name: web-1, status: running }
  - app_id: ${API}
    name: api
    cvms:
      - { vm_uuid: ${API_0}, name: api-0, status: running }
  - app_id: ${SLOW}
    name: slow
    cvms:
      - { vm_uuid: 00000000-0000-4000-8000-00000000c301, name: slow-0, status: running }
    faults:
      latency: 4s
  - app_id: ${UNDECLARED}
    name: undeclared
    cvms:
      - { vm_uuid: 00000000-0000-4000-8000-00000000cf01, name: other-0, status: running }
`

const desired = `version: 1
api:
  api_key: \${PHALA_CLOUD_API_KEY}
  timeout: 10s
  retries: 1
poll:
  interval: 60s
server:
  lifecycle: true
  phala_webhook:
    path: /hooks/phala
    secret: \${PHALA_WEBHOOK_SECRET}
apps:
  - { app_id: ${WEB}, name: web, replicas: 2 }
  - { app_id: ${API}, name: api }
  - { app_id: ${SLOW}, name: slow }
`

let sim: Simulator
let daemon: Daemon

beforeAll(async () => {
  const dir = tempDir("phala-drift-webhooks-")
  sim = await startSimulator(writeTemp("scenario.yaml", scenario, dir))
  daemon = await startServe(
    writeTemp("desired.yaml", desired, dir),
    cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY, PHALA_WEBHOOK_SECRET: SECRET })
  )
  const put = await sim.admin("PUT", "/_sim/webhooks", { webhooks: [{ url: `${daemon.base}/hooks/phala`, secret: SECRET }] })
  expect(put.status).toBe(200)
}, 60_000)

afterAll(stopAll)

// each waits by condition, 30 s at most, on a loaded machine
const slow = 90_000

const scrape = async (): Promise<string> => (await fetch(`${daemon.base}/metrics`)).text()

interface PlanApp {
  readonly app_id: string
  readonly drifts: ReadonlyArray<{ readonly kind: string; readonly vm_uuid?: string; readonly actual: unknown }>
}
/** The status the plan reports as drift for one CVM (undefined: none). */
const planCvmStatus = async (appId: string, vmUuid: string): Promise<unknown> => {
  const plan = (await (await fetch(`${daemon.base}/api/v1/plan`)).json()) as { apps: ReadonlyArray<PlanApp> }
  return plan.apps.find((a) => a.app_id === appId)?.drifts.find((d) => d.kind === "status" && d.vm_uuid === vmUuid)?.actual
}

/** API reads of one app the simulator has served so far. */
const readsOf = async (appId: string): Promise<number> => {
  const log = (await (await sim.admin("GET", "/_sim/requests")).json()) as { requests: ReadonlyArray<{ path: string }> }
  return log.requests.filter((r) => r.path.endsWith(`/apps/${appId}`)).length
}

const cycles = async (): Promise<number> => seriesValue(await scrape(), "phala_drift_poll_duration_seconds_count")

const setStatus = (appId: string, vmUuid: string, status: string) =>
  sim.admin("PUT", `/_sim/apps/${appId}/cvms/${vmUuid}/status`, { status })

const event = (id: string, appId: string, name = "cvm.stopped") =>
  JSON.stringify({
    id,
    event: name,
    version: "1",
    created_at: new Date().toISOString(),
    workspace: { id: "ws_e2e", name: "e2e" },
    data: { cvm_id: WEB_0, cvm_name: "web-0", app_id: `app_${appId}`, status: "stopped" }
  })

const post = async (body: string, options: { secret?: string; ageSeconds?: number } = {}): Promise<number> => {
  const ts = String(Math.floor(Date.now() / 1000) - (options.ageSeconds ?? 0))
  const response = await fetch(`${daemon.base}/hooks/phala`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-webhook-id": "x",
      "x-webhook-timestamp": ts,
      "x-webhook-signature": sign(options.secret ?? SECRET, ts, body)
    },
    body
  })
  await response.arrayBuffer()
  return response.status
}

describe("webhooks from the simulator", () => {
  it("a CVM stopped through the simulator shows in /metrics and the plan long before the next poll", async () => {
    const cyclesBefore = await cycles()
    const started = Date.now()
    expect((await setStatus(WEB, WEB_0, "stopped")).status).toBe(200)
    const series = `phala_cvm_status{app_id="${WEB}",app_name="web",vm_uuid="${WEB_0}",cvm_name="web-0",status="stopped"}`
    await waitFor("the stop in /metrics", async () => (seriesValue(await scrape(), series) === 1 ? true : undefined), 30_000, 20)
    const inMetrics = Date.now() - started
    await waitFor("the stop in the plan", async () => ((await planCvmStatus(WEB, WEB_0)) === "stopped" ? true : undefined), 30_000, 20)
    const inPlan = Date.now() - started
    console.log(`webhook e2e: stop visible in /metrics after ${inMetrics} ms, in the plan after ${inPlan} ms`)
    // no cycle ran meanwhile: the event did it, well before the 60 s poll
    expect(await cycles()).toBe(cyclesBefore)
    expect(inPlan).toBeLessThan(30_000)
    const text = await scrape()
    expect(seriesValue(text, `phala_drift_webhook_events_total{event="cvm.stopped",result="accepted"}`)).toBeGreaterThanOrEqual(1)
    const deliveries = (await (await sim.admin("GET", "/_sim/webhooks")).json()) as { deliveries: ReadonlyArray<{ event: string; outcome: string; status: number }> }
    expect(deliveries.deliveries).toContainEqual(expect.objectContaining({ event: "cvm.stopped", outcome: "delivered", status: 202 }))
    // the status page says the event refreshed this app, and not the other
    const row = (page: string, id: string) => page.split(`id="app-${id}"`)[1]?.split("</tr>")[0] ?? ""
    const page = await (await fetch(`${daemon.base}/`)).text()
    expect(row(page, WEB)).toContain("refreshed by a Phala Cloud event")
    expect(page.match(/refreshed by a Phala Cloud event/g)).toHaveLength(1)
  }, slow)

  it("refuses bad input without reading anything; a replay and an undeclared app change nothing", async () => {
    const before = await readsOf(API)
    const cases: ReadonlyArray<readonly [string, Promise<number>, number]> = [
      ["bad signature", post(event("evt_bad", API), { secret: "whsec_wrong" }), 401],
      ["stale timestamp", post(event("evt_stale", API), { ageSeconds: 301 }), 401],
      ["oversized body", post(event("evt_big", API).padEnd(64 * 1024 + 1, " ")), 413],
      ["unknown app", post(event("evt_undeclared", UNDECLARED)), 202]
    ]
    const got = await Promise.all(cases.map(async ([name, status]) => [name, await status] as const))
    expect(got).toEqual(cases.map(([name, , status]) => [name, status]))
    expect(await post(event("evt_replayed", API))).toBe(202)
    await waitFor("the one re-read", async () => ((await readsOf(API)) === before + 1 ? true : undefined), 30_000, 20)
    expect(await post(event("evt_replayed", API))).toBe(200)
    // the counters are rendered with the next publish: one more event re-reads and publishes
    expect(await post(event("evt_after", API))).toBe(202)
    await waitFor("the second re-read", async () => ((await readsOf(API)) === before + 2 ? true : undefined), 30_000, 20)
    expect(await readsOf(UNDECLARED)).toBe(0)
    await waitFor("the counters", async () => {
      const text = await scrape()
      const value = (event: string, result: string) => seriesValue(text, `phala_drift_webhook_events_total{event="${event}",result="${result}"}`)
      return value("unparsed", "bad_signature") === 1 && value("unparsed", "stale") === 1 && value("unparsed", "too_large") === 1 &&
          value("cvm.stopped", "ignored") === 1 && value("cvm.stopped", "duplicate") === 1 &&
          // self-telemetry is rendered with the next publish: the first test's latency shows by now
          seriesValue(text, "phala_drift_webhook_publish_latency_seconds_count") >= 2
        ? true
        : undefined
    }, 30_000, 50)
  }, slow)

  it("a burst of 100 events for one app costs at most 3 reads", async () => {
    const before = await readsOf(API)
    const bodies = Array.from({ length: 100 }, (_, i) => event(`evt_burst_${i}`, API, "cvm.restarted"))
    const started = Date.now()
    const statuses = await Promise.all(bodies.map((body) => post(body)))
    console.log(`webhook e2e: 100 events posted in ${Date.now() - started} ms`)
    expect(statuses.every((s) => s === 202)).toBe(true)
    const text = () => scrape()
    await waitFor("the burst counted", async () =>
      seriesValue(await text(), `phala_drift_webhook_events_total{event="cvm.restarted",result="accepted"}`) === 100 ? true : undefined, 30_000, 50)
    // the first event is read at once, the rest by one read once they have been quiet for 0.5 s
    await waitFor("the trailing read", async () => ((await readsOf(API)) >= before + 2 ? true : undefined), 30_000, 50)
    // nothing is due any more: no read can follow after maxWait (5 s)
    await sleep(6_000)
    const reads = (await readsOf(API)) - before
    console.log(`webhook e2e: 100 events for one app cost ${reads} reads`)
    expect(reads).toBeGreaterThanOrEqual(2)
    expect(reads).toBeLessThanOrEqual(3)
  }, slow)

  it("an event during a full cycle is not overwritten by the cycle's older observation", async () => {
    const cyclesBefore = await cycles()
    const webReadsBefore = await readsOf(WEB)
    // the slow app keeps this cycle busy for 4 s after it has read web
    const reconcile = fetch(`${daemon.base}/-/reconcile`, { method: "POST" })
    await waitFor("the cycle to read web", async () => ((await readsOf(WEB)) > webReadsBefore ? true : undefined), 30_000, 20)
    expect((await setStatus(WEB, WEB_1, "stopped")).status).toBe(200)
    await waitFor("the stop in the plan", async () => ((await planCvmStatus(WEB, WEB_1)) === "stopped" ? true : undefined), 30_000, 20)
    expect(await cycles()).toBe(cyclesBefore)
    const done = await reconcile
    expect(done.status).toBe(200)
    expect(await cycles()).toBe(cyclesBefore + 1)
    expect(await planCvmStatus(WEB, WEB_1)).toBe("stopped")
    const series = `phala_cvm_status{app_id="${WEB}",app_name="web",vm_uuid="${WEB_1}",cvm_name="web-1",status="stopped"}`
    expect(seriesValue(await scrape(), series)).toBe(1)
  }, slow)

  it("a receiver that is down gets the event once it is back (the simulator retries, same id, fresh signature)", async () => {
    const received: Array<{ readonly id: string | undefined; readonly valid: boolean }> = []
    const receiver = createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (c: Buffer) => chunks.push(c))
      request.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8")
        const ts = String(request.headers["x-webhook-timestamp"])
        received.push({ id: request.headers["x-webhook-id"]?.toString(), valid: request.headers["x-webhook-signature"] === sign(SECRET, ts, body) })
        // down for the first two attempts
        response.writeHead(received.length <= 2 ? 503 : 200).end()
      })
    })
    await new Promise<void>((done) => receiver.listen(0, "127.0.0.1", done))
    const { port } = receiver.address() as AddressInfo
    try {
      expect((await sim.admin("PUT", "/_sim/webhooks", { webhooks: [{ url: `http://127.0.0.1:${port}/hook`, secret: SECRET }] })).status).toBe(200)
      expect((await setStatus(API, API_0, "stopped")).status).toBe(200)
      await waitFor("the third attempt", async () => (received.length >= 3 ? true : undefined), 30_000, 50)
      expect(received.slice(0, 3).every((r) => r.valid && r.id === received[0]?.id)).toBe(true)
      type Log = { deliveries: ReadonlyArray<{ attempts: number; outcome: string }> }
      await waitFor("delivered", async () => {
        const l = (await (await sim.admin("GET", "/_sim/webhooks")).json()) as Log
        return l.deliveries[0]?.outcome === "delivered" ? l.deliveries[0] : undefined
      }).then((d) => expect(d.attempts).toBe(3))
    } finally {
      await sim.admin("PUT", "/_sim/webhooks", { webhooks: [{ url: `${daemon.base}/hooks/phala`, secret: SECRET }] })
      await new Promise((done) => receiver.close(done))
    }
  }, slow)
})
