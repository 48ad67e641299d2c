/**
 * The real CLI (`plan`, `serve`) against a hostile stand-in for the Phala API (test/support/hostile-api.ts): whatever
 * one app's answer is, the process neither crashes nor grows, reports no false drift, leaks no key, and the other
 * apps are still monitored. DESIGN §4, "believed only within limits".
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { type Behaviour, type HostileApi, startHostileApi } from "../support/hostile-api.js"
import { cleanEnv, fixture, freePort, ROOT, runCli, type Simulator, spawnCli, startSimulator, stopAll, tempDir, waitFor, writeTemp } from "./support/harness.js"

const KEY = "phak_hostile_e2e_5b2c9d0e7f"
const id = (n: string) => `c0de00000000000000000000000000000000${n.padStart(4, "0")}`
const OK = id("1")

interface PlanApp {
  app_id: string
  name: string
  sync: string
  error: { reason: string; status: number | null; message: string } | null
  drifts: ReadonlyArray<{ kind: string }>
}
interface Plan {
  summary: Record<string, number>
  apps: ReadonlyArray<PlanApp>
}

const peakRssPreload = pathToFileURL(join(ROOT, "test", "support", "peak-rss.mjs")).href
// generous: the process idles at ~80 MB; an 8 MiB body costs a few times that at most, a gzip bomb read whole 4 GB
const RSS_BOUND_MB = 400

/** A config declaring `apps` (one running CVM each); `api` entries override the `api:` defaults below. */
const desired = (apps: ReadonlyArray<string>, api: Readonly<Record<string, string | number>> = {}, more: ReadonlyArray<string> = []) =>
  writeTemp("desired.yaml", [
    "version: 1",
    "api:",
    ...Object.entries({ api_key: "${PHALA_CLOUD_API_KEY}", timeout: "10s", retries: 0, concurrency: 4, ...api })
      .map(([key, value]) => `  ${key}: ${value}`),
    ...more,
    "poll:",
    "  interval: 30s",
    "defaults:",
    "  for: 0s",
    "apps:",
    ...apps.flatMap((app) => [`  - app_id: ${app}`, "    replicas: 1"]),
    ""
  ].join("\n"))

interface PlanRun {
  readonly code: number | null
  readonly plan: Plan
  readonly output: string
  readonly peakMb: number
}

const plan = async (apiUrl: string, apps: ReadonlyArray<string>, api: Readonly<Record<string, string | number>> = {}): Promise<PlanRun> => {
  const rssFile = join(tempDir(), "peak-rss")
  const result = await runCli(
    ["plan", "--config", desired(apps, api), "--output", "json"],
    cleanEnv({ PHALA_CLOUD_API_URL: apiUrl, PHALA_CLOUD_API_KEY: KEY, NODE_OPTIONS: `--import ${peakRssPreload}`, PEAK_RSS_FILE: rssFile })
  )
  if (result.stdout === "") throw new Error(`plan printed nothing (exit ${result.code}): ${result.stderr.slice(-2000)}`)
  return {
    code: result.code,
    plan: JSON.parse(result.stdout) as Plan,
    output: result.stdout + result.stderr,
    peakMb: Number(readFileSync(rssFile, "utf8")) / 1024
  }
}

const appIn = (p: Plan, appId: string): PlanApp => {
  const found = p.apps.find((a) => a.app_id === appId)
  if (found === undefined) throw new Error(`no app ${appId} in plan`)
  return found
}

let api: HostileApi | undefined
const hostile = async (apps: Readonly<Record<string, Behaviour>>, list: "ok" | "route_404" = "ok") => {
  api = await startHostileApi({ apiKey: KEY, apps: { [OK]: { kind: "ok" }, ...apps }, list })
  return api
}
afterEach(async () => {
  await api?.close()
  api = undefined
})
afterAll(stopAll)

describe("plan: response size", () => {
  it("stops a gzip bomb, a 200 MB body, an endless body and one outrunning its Content-Length: bad_response, memory bounded, the other app observed", async () => {
    const server = await hostile({
      [id("2")]: { kind: "gzip_bomb", inflatedGiB: 2 },
      [id("3")]: { kind: "huge_body", bytes: 200 * 1024 * 1024 },
      [id("4")]: { kind: "endless_body" },
      [id("5")]: { kind: "lying_length", bytes: 200 * 1024 * 1024 }
    })
    const run = await plan(server.apiUrl, [OK, id("2"), id("3"), id("4"), id("5")])
    expect(run.code).toBe(3)
    expect(appIn(run.plan, OK).sync).toBe("in_sync")
    for (const n of ["2", "3", "4"]) {
      const failed = appIn(run.plan, id(n))
      expect(failed).toMatchObject({ sync: "unknown", drifts: [], error: { reason: "bad_response", status: 200 } })
      expect(failed.error?.message).toBe("HTTP 200: body larger than 8 MiB (api.max_response_bytes), reading stopped")
    }
    // framing ends that body at its declared 64 bytes: what was read is not JSON
    expect(appIn(run.plan, id("5")).error).toMatchObject({ reason: "bad_response", status: 200, message: "HTTP 200: invalid JSON" })
    expect(run.peakMb).toBeLessThan(RSS_BOUND_MB)
    // the 200 MB, endless and outrunning bodies were cut off (a 2 MB bomb may fit in the socket buffers whole)
    await waitFor("the server to see 3 bodies cut off", async () => (server.abortedBodies() >= 3 ? true : undefined), 5_000)
  })

  it("honours api.max_response_bytes", async () => {
    const server = await hostile({ [id("2")]: { kind: "huge_body", bytes: 300 * 1024 }, [id("3")]: { kind: "huge_body", bytes: 200 * 1024 } })
    const run = await plan(server.apiUrl, [id("2"), id("3")], { max_response_bytes: 256 * 1024 })
    expect(appIn(run.plan, id("2")).error).toMatchObject({ reason: "bad_response" })
    expect(appIn(run.plan, id("2")).error?.message).toContain("256 KiB")
    expect(appIn(run.plan, id("3")).sync).toBe("in_sync")
  })
})

describe("plan: 404 and the base URL (never missing_app fleet-wide)", () => {
  it("reports missing_app for the API's own 404 once a probe confirmed the base URL; a proxy's or a route's 404 is client", async () => {
    const server = await hostile({ [id("2")]: { kind: "app_not_found" }, [id("3")]: { kind: "html_404" }, [id("4")]: { kind: "route_404" } })
    const run = await plan(server.apiUrl, [id("2"), id("3"), id("4")])
    expect(run.code).toBe(2)
    expect(appIn(run.plan, id("2")).drifts).toEqual([expect.objectContaining({ kind: "missing_app" })])
    // no app answered 2xx: the list was probed
    expect(server.requests.map((r) => r.path)).toContain("/api/v1/apps?page=1&page_size=1")
    for (const n of ["3", "4"]) {
      expect(appIn(run.plan, id(n))).toMatchObject({ sync: "unknown", drifts: [], error: { reason: "client", status: 404 } })
      expect(appIn(run.plan, id(n)).error?.message).toContain("api.url may be wrong")
    }
  })

  it("never reports missing_app when the base URL cannot be confirmed", async () => {
    const server = await hostile({ [id("2")]: { kind: "app_not_found" }, [id("3")]: { kind: "app_not_found" } }, "route_404")
    const run = await plan(server.apiUrl, [id("2"), id("3")])
    expect(run.code).toBe(3)
    for (const app of run.plan.apps) {
      expect(app).toMatchObject({ sync: "unknown", drifts: [], error: { reason: "client", status: 404 } })
      expect(app.error?.message).toContain("api.url")
    }
    // one probe served both apps
    expect(server.requests.filter((r) => r.path.startsWith("/api/v1/apps?"))).toHaveLength(1)
  })

  describe("against the simulator", () => {
    let sim: Simulator
    const SIM_KEY = "phak_e2e_secret_4d1f9a7c"
    const simPlan = async (apiUrl: string) => {
      const result = await runCli(
        ["plan", "--config", fixture("e2e", "fleet.desired.yaml"), "--output", "json", "--app", "a000000000000000000000000000000000000001", "--app", "a000000000000000000000000000000000000006"],
        cleanEnv({ PHALA_CLOUD_API_URL: apiUrl, PHALA_CLOUD_API_KEY: SIM_KEY })
      )
      return { code: result.code, plan: JSON.parse(result.stdout) as Plan }
    }

    it("a wrong api.url (/api/v2, no /api/v1) makes every app unknown (client), never missing_app", async () => {
      sim = await startSimulator(fixture("e2e", "fleet.scenario.yaml"))
      for (const url of [`${sim.base}/api/v2`, sim.base]) {
        const run = await simPlan(url)
        expect(run.code).toBe(3)
        expect(run.plan.summary).toMatchObject({ unknown: 2, out_of_sync: 0, drifts: 0 })
        for (const app of run.plan.apps) expect(app.error).toMatchObject({ reason: "client", status: 404 })
      }
      const right = await simPlan(sim.apiUrl)
      expect(right.code).toBe(2)
      expect(appIn(right.plan, "a000000000000000000000000000000000000006").drifts).toEqual([expect.objectContaining({ kind: "missing_app" })])
      await sim.proc.stop()
    }, 90_000)
  })
})

describe("plan: redirects", () => {
  it("follows no redirect (another origin, a loop, the same origin) and never sends the key elsewhere: client, one request each", async () => {
    const server = await hostile({
      [id("2")]: { kind: "redirect_other_origin" },
      [id("3")]: { kind: "redirect_loop" },
      [id("4")]: { kind: "redirect_same_origin" }
    })
    const run = await plan(server.apiUrl, [OK, id("2"), id("3"), id("4")])
    expect(run.code).toBe(3)
    expect(appIn(run.plan, id("2"))).toMatchObject({ sync: "unknown", drifts: [], error: { reason: "client", status: 301 } })
    expect(appIn(run.plan, id("2")).error?.message).toContain("another origin")
    expect(server.otherRequests).toEqual([])
    expect(appIn(run.plan, id("3")).error).toMatchObject({ reason: "client", status: 302 })
    expect(appIn(run.plan, id("4")).error).toMatchObject({ reason: "client", status: 307 })
    for (const n of ["2", "3", "4"]) expect(server.requests.filter((r) => r.path.endsWith(id(n)))).toHaveLength(1)
    expect(server.requests.filter((r) => r.path.includes("/moved/"))).toEqual([])
  })
})

describe("plan: what a 200 says", () => {
  it("reads the minimal shape as unknown (incomplete) and another app's body as bad_response; redacts the key echoed in another case", async () => {
    const server = await hostile({
      [id("2")]: { kind: "minimal" },
      [id("3")]: { kind: "wrong_app_id" },
      [id("4")]: { kind: "key_echo" },
      [id("5")]: { kind: "key_echo", status: 400 }
    })
    const run = await plan(server.apiUrl, [OK, id("2"), id("3"), id("4"), id("5")])
    // the echoed key became a CVM status: that is status drift, the other two are unknown, never drift
    expect(run.code).toBe(2)
    expect(run.plan.summary).toMatchObject({ in_sync: 1, out_of_sync: 1, unknown: 3, drifts: 1 })
    expect(appIn(run.plan, id("2")).error).toMatchObject({ reason: "incomplete", status: 200 })
    expect(appIn(run.plan, id("3")).error).toMatchObject({ reason: "bad_response", status: 200 })
    expect(run.output.toLowerCase()).not.toContain(KEY.toLowerCase())
    expect(appIn(run.plan, id("4")).name).toBe("app of <redacted>")
    expect(appIn(run.plan, id("5")).error).toMatchObject({ reason: "client", status: 400, message: "HTTP 400: key <redacted> is not allowed here" })
  })

  it("truncates a 5 MB name at the edge and rejects a 200 MB one, the other apps carrying on", async () => {
    const server = await hostile({ [id("2")]: { kind: "huge_name", bytes: 5_000_000 }, [id("3")]: { kind: "huge_name", bytes: 200_000_000 } })
    const run = await plan(server.apiUrl, [OK, id("2"), id("3")])
    expect(run.code).toBe(3)
    const named = appIn(run.plan, id("2"))
    expect(named.sync).toBe("in_sync")
    expect(named.name.length).toBeLessThanOrEqual(256)
    expect(named.name.startsWith("nnnn")).toBe(true)
    expect(appIn(run.plan, id("3")).error).toMatchObject({ reason: "bad_response" })
    expect(run.output.length).toBeLessThan(100_000)
    expect(run.peakMb).toBeLessThan(RSS_BOUND_MB)
  })
})

describe("plan: what held, still holds", () => {
  it("handles deep JSON nesting without a crash: a million levels is bad_response, a few in an unread field pass", async () => {
    const server = await hostile({
      [id("2")]: { kind: "deep_nesting", depth: 1_000_000, where: "ignored_field" },
      [id("3")]: { kind: "deep_nesting", depth: 1_000_000, where: "cvms" },
      [id("4")]: { kind: "deep_nesting", depth: 40, where: "ignored_field" }
    })
    const run = await plan(server.apiUrl, [OK, id("2"), id("3"), id("4")])
    expect(run.code).toBe(3)
    for (const n of ["2", "3"]) {
      expect(appIn(run.plan, id(n)).error).toMatchObject({ reason: "bad_response", message: "HTTP 200: JSON nested deeper than 64 levels" })
    }
    expect(appIn(run.plan, id("4")).sync).toBe("in_sync")
  })

  it("gives up on an absurd Retry-After within the cycle, and times out a hang", async () => {
    const server = await hostile({
      [id("2")]: { kind: "retry_after", status: 429, value: "9".repeat(400) },
      [id("3")]: { kind: "retry_after", status: 503, value: "Fri, 31 Dec 9999 23:59:59 GMT" },
      [id("4")]: { kind: "retry_after", status: 429, value: "soon, maybe -1" },
      [id("5")]: { kind: "hang" }
    })
    const started = Date.now()
    const run = await plan(server.apiUrl, [OK, id("2"), id("3"), id("4"), id("5")], { retries: 2, timeout: "2s" })
    // the cycle budget of `plan` is a minute: none of this may wait for it
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(run.code).toBe(3)
    expect(appIn(run.plan, id("2")).error).toMatchObject({ reason: "rate_limited", status: 429 })
    expect(appIn(run.plan, id("3")).error).toMatchObject({ reason: "server", status: 503 })
    expect(appIn(run.plan, id("4")).error).toMatchObject({ reason: "rate_limited", status: 429 })
    expect(appIn(run.plan, id("5")).error).toMatchObject({ reason: "timeout" })
    // garbage is no Retry-After: plain backoff, all retries used
    expect(server.requests.filter((r) => r.path.endsWith(id("4")))).toHaveLength(3)
    expect(server.requests.filter((r) => r.path.endsWith(id("2")))).toHaveLength(1)
  })
})

describe("serve against the hostile API", () => {
  it("keeps monitoring every other app, stays ready and bounded, and leaks the key nowhere", async () => {
    const server = await hostile({
      [id("2")]: { kind: "huge_name", bytes: 5_000_000 },
      [id("3")]: { kind: "gzip_bomb", inflatedGiB: 2 },
      [id("4")]: { kind: "endless_body" },
      [id("5")]: { kind: "huge_body", bytes: 200 * 1024 * 1024 },
      [id("6")]: { kind: "key_echo" },
      [id("7")]: { kind: "huge_name", bytes: 200_000_000 }
    })
    const dead = await freePort()
    const stateDir = tempDir()
    // the receiver is down: notifications wait in the outbox, where the test can read them
    const config = desired([OK, id("2"), id("3"), id("4"), id("5"), id("6"), id("7")], {}, [
      "alerting:",
      "  receivers:",
      `    - { name: hook, type: webhook, url: "http://127.0.0.1:${dead}/hook" }`,
      "  default_receivers: [hook]"
    ])
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const daemon = spawnCli(
      ["serve", "--config", config, "--listen", `127.0.0.1:${port}`, "--state-dir", stateDir],
      cleanEnv({ PHALA_CLOUD_API_URL: server.apiUrl, PHALA_CLOUD_API_KEY: KEY })
    )
    await waitFor("daemon ready", async () => {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited: ${daemon.stderr().slice(-2000)}`)
      return (await fetch(`${base}/readyz`)).ok ? true : undefined
    }, 60_000)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toContain(`phala_app_sync_status{app_id="${OK}",app_name="app-c0de00",status="in_sync"} 1`)
    expect(metrics).toMatch(new RegExp(`phala_app_sync_status\\{app_id="${id("2")}",app_name="n{1,256}…?",status="in_sync"\\} 1`))
    for (const n of ["3", "4", "5", "7"]) {
      expect(metrics).toContain(`phala_app_fetch_failure{app_id="${id(n)}",app_name="${id(n)}",reason="bad_response"} 1`)
    }
    const status = readFileSync(`/proc/${daemon.child.pid}/status`, "utf8")
    const peakMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024
    expect(peakMb).toBeLessThan(RSS_BOUND_MB)

    // the echoed key made a CVM status drift: its alert text, the outbox and the page must not carry the key
    await waitFor("the status drift alert", async () => {
      const alerts = (await (await fetch(`${base}/api/v1/alerts`)).json()) as { alerts: ReadonlyArray<{ alertname: string; labels: Record<string, string> }> }
      return alerts.alerts.some((a) => a.alertname === "PhalaCvmStatusDrift" && a.labels["app_id"] === id("6")) ? true : undefined
    })
    const files = (dir: string): ReadonlyArray<string> =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name)
        return statSync(path).isDirectory() ? files(path) : [path]
      })
    await waitFor("a queued notification", async () => (files(stateDir).some((f) => f.includes("outbox")) ? true : undefined))
    const everything = [
      metrics,
      await (await fetch(`${base}/api/v1/alerts`)).text(),
      await (await fetch(`${base}/api/v1/plan`)).text(),
      await (await fetch(`${base}/`)).text(),
      ...files(stateDir).filter((f) => existsSync(f)).map((f) => readFileSync(f, "utf8")),
      daemon.stdout(),
      daemon.stderr()
    ].join("\n").toLowerCase()
    expect(everything).toContain("redacted")
    expect(everything).not.toContain(KEY.toLowerCase())
    expect(daemon.child.exitCode).toBeNull()
    expect(await daemon.stop()).toBe(0)
  }, 120_000)
})
