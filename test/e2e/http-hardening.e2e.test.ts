import { writeFileSync } from "node:fs"
import { request } from "node:http"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, type Proc, type Simulator, startServe, startSimulator, stopAll, tempDir, waitFor, writeTemp } from "./support/harness.js"
import { slowClient } from "./support/slow-client.js"

const KEY = "phak_e2e_hardening_3b9e27d1"
const TOKEN = "hardening-token-8c41f0a2d6"
const USER = "ops"
const PASSWORD = "hardening-pass-5e1d9b7c30"
const APP = "e000000000000000000000000000000000000001"

// every fetch of the app takes 3 s, so a cycle is long enough for a burst of requests to arrive during it
const scenario = [
  `api_keys: [${KEY}]`,
  "apps:",
  `  - app_id: ${APP}`,
  "    name: slow",
  "    cvms: [{ name: slow-0, status: running }]",
  "    faults: { latency: 3s }",
  ""
].join("\n")

const desired = (auth: string) =>
  [
    "version: 1",
    "api:",
    "  api_key: ${PHALA_CLOUD_API_KEY}",
    "  timeout: 20s",
    "  retries: 0",
    "poll:",
    // cycles run only at start and on POST /-/reconcile
    "  interval: 1h",
    "server:",
    "  lifecycle: true",
    `  auth: ${auth}`,
    "apps:",
    `  - app_id: ${APP}`,
    "    replicas: 1",
    ""
  ].join("\n")

const bearerConfig = desired(`{ bearer_token: "\${DRIFT_TOKEN}" }`)
const basicConfig = desired(`{ basic: { username: ${USER}, password: "\${DRIFT_PASSWORD}" } }`)
const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString("base64")}`

let sim: Simulator
let daemon: Proc
let port: number
let base: string
let configPath: string
let authorization = `Bearer ${TOKEN}`

/** A request sent exactly as written (fetch would normalise `/./metrics` and the like before sending). */
const raw = (path: string, headers: Record<string, string> = {}, method = "GET") =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, headers: { ...headers }, agent: false }, (res) => {
      let body = ""
      res.setEncoding("utf8").on("data", (d: string) => { body += d }).on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
    req.end()
  })
const authed = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { ...init, headers: { authorization } })
const cyclesRun = async (): Promise<number> =>
  Number(/^phala_drift_poll_duration_seconds_count (\d+)$/m.exec(await (await authed("/metrics")).text())?.[1] ?? Number.NaN)

beforeAll(async () => {
  sim = await startSimulator(writeTemp("hardening.scenario.yaml", scenario))
  configPath = join(tempDir(), "desired.yaml")
  writeFileSync(configPath, bearerConfig)
  const started = await startServe(
    configPath,
    cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY, DRIFT_TOKEN: TOKEN, DRIFT_PASSWORD: PASSWORD }),
    { headers: { authorization } }
  )
  daemon = started.proc
  port = started.port
  base = started.base
})
afterAll(stopAll)

describe("POST /-/reconcile", () => {
  it("coalesces 200 concurrent requests into one or two cycles and answers every one", async () => {
    await sim.admin("DELETE", "/_sim/requests")
    const before = await cyclesRun()
    const answers = await Promise.all(Array.from({ length: 200 }, async () => {
      const response = await authed("/-/reconcile", { method: "POST" })
      return { status: response.status, body: (await response.json()) as { status: string; generated_at: string } }
    }))
    expect(answers.map((a) => a.status)).toEqual(Array(200).fill(200))
    expect(new Set(answers.map((a) => a.body.status))).toEqual(new Set(["done"]))
    const cycles = new Set(answers.map((a) => a.body.generated_at)).size
    expect(cycles).toBeLessThanOrEqual(2)
    expect((await cyclesRun()) - before).toBe(cycles)
    const log = (await (await sim.admin("GET", `/_sim/requests?app_id=${APP}`)).json()) as { requests: ReadonlyArray<unknown> }
    expect(log.requests).toHaveLength(cycles)
  }, 120_000)
})

describe("slowloris", () => {
  it("clients trickling their headers neither hold the server nor stay connected", async () => {
    const slow = Array.from({ length: 50 }, () => slowClient(port, 100))
    try {
      await waitFor("headers under way", async () => (slow.every((c) => c.sent() > 20) ? true : undefined), 30_000)
      for (let i = 0; i < 5; i++) {
        expect((await fetch(`${base}/healthz`)).status).toBe(200)
        expect((await authed("/metrics")).status).toBe(200)
      }
      // headers must be complete within 10 s (server.headersTimeout, checked every 2 s)
      await waitFor("slow connections cut", async () => (slow.every((c) => c.closed()) ? true : undefined), 30_000, 250)
    } finally {
      for (const c of slow) c.stop()
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
  }, 90_000)
})

describe("1000 concurrent scrapes", () => {
  it("are all answered with the exposition, and the daemon carries on", async () => {
    const answers = await Promise.all(Array.from({ length: 1000 }, async (_, i) => {
      const response = await fetch(`${base}/metrics`, { headers: { authorization, ...(i % 2 === 0 ? { "accept-encoding": "gzip" } : {}) } })
      const text = await response.text()
      return response.status === 200 && text.includes("phala_drift_build_info") ? "ok" : `${response.status}`
    }))
    expect(answers.filter((a) => a !== "ok")).toEqual([])
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect(daemon.child.exitCode).toBeNull()
  }, 120_000)
})

describe("auth bypass attempts", () => {
  // everything but /healthz is protected whatever the spelling; the router sees the same path the auth check saw
  const protectedPaths = [
    "/metrics",
    "//metrics",
    "/metrics/",
    "/./metrics",
    "/healthz/../metrics",
    "/healthz/%2e%2e/metrics",
    "/%6detrics",
    "/%2Fmetrics",
    "/metrics?",
    "/metrics?x=/healthz",
    "/metrics#/healthz",
    "/metrics;/healthz",
    "/HEALTHZ",
    "/healthz/",
    "//healthz",
    "/healthz%00",
    "/healthz/..",
    "http://127.0.0.1/metrics",
    "/api/v1/plan",
    "/api/v1/plan?format=text",
    "/api/v1/alerts",
    "/"
  ]

  it("without credentials, only /healthz answers (with or without a query)", async () => {
    for (const path of protectedPaths) {
      const answer = await raw(path)
      expect(answer.status, path).toBe(401)
      expect(answer.body, path).toBe("unauthorized\n")
    }
    for (const method of ["POST", "PUT", "DELETE"]) {
      for (const path of ["/-/reconcile", "/-/reload", "//-/reconcile", "/-/./reload"]) {
        expect((await raw(path, {}, method)).status, `${method} ${path}`).toBe(401)
      }
    }
    expect(await raw("/healthz")).toEqual({ status: 200, body: "ok\n" })
    expect(await raw("/healthz?format=../metrics")).toEqual({ status: 200, body: "ok\n" })
  })

  it("a bearer token is accepted only whole, under the Bearer scheme", async () => {
    const rejected = [
      "",
      "Bearer",
      "Bearer ",
      "Bearer  ",
      `Bearer${TOKEN}`,
      `Bearer\t${TOKEN}`,
      `Bearer ${TOKEN.toUpperCase()}`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Bearer x${TOKEN}`,
      `Bearer ${TOKEN} ${TOKEN}`,
      `Token ${TOKEN}`,
      `Basic ${TOKEN}`,
      basic(`${USER}:${TOKEN}`),
      basic(`:${TOKEN}`),
      TOKEN
    ]
    for (const header of rejected) {
      expect((await raw("/metrics", { authorization: header })).status, JSON.stringify(header)).toBe(401)
    }
    // the scheme is case-insensitive (RFC 9110), and whitespace around the token is not part of it
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`, `Bearer  ${TOKEN}`, `Bearer ${TOKEN} `]) {
      expect((await raw("/metrics", { authorization: header })).status, JSON.stringify(header)).toBe(200)
    }
  })

  it("basic credentials must match exactly, colons and all", async () => {
    writeFileSync(configPath, basicConfig)
    authorization = basic(`${USER}:${PASSWORD}`)
    await waitFor("basic auth in force", async () => ((await authed("/metrics")).status === 200 ? true : undefined), 30_000, 200)
    const rejected = [
      "Basic",
      "Basic ",
      "Basic =",
      "Basic !!!not-base64!!!",
      basic(USER),
      basic(`${USER}:`),
      basic(`:${PASSWORD}`),
      basic(`${USER}:${PASSWORD}:`),
      basic(`${USER}:${PASSWORD}:extra`),
      basic(`${USER}::${PASSWORD}`),
      basic(`${USER}:${PASSWORD.slice(0, -1)}`),
      basic(`${USER}:${PASSWORD}\n`),
      basic(`${USER} :${PASSWORD}`),
      basic(`${USER.toUpperCase()}:${PASSWORD}`),
      basic(`${USER}\u0000:${PASSWORD}`),
      basic(`${USER}:${PASSWORD}`).replace("Basic ", "Bearer "),
      `Bearer ${PASSWORD}`,
      `Bearer ${TOKEN}`
    ]
    for (const header of rejected) {
      expect((await raw("/metrics", { authorization: header })).status, JSON.stringify(header)).toBe(401)
    }
    expect((await raw("/metrics", { authorization: basic(`${USER}:${PASSWORD}`).replace("Basic", "basic") })).status).toBe(200)
    for (const path of protectedPaths) expect((await raw(path)).status, path).toBe(401)
    expect((await raw("/healthz")).status).toBe(200)
  }, 60_000)
})
