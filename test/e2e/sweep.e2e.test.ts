import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { syntheticApps } from "../../src/Simulator/World.js"
import { cleanEnv, runCli, type Simulator, startServe, startSimulator, stopAll, testConfigHead, waitFor, writeTemp } from "./support/harness.js"

// 150 declared apps (two pages of 100) and six undeclared ones, one of them ignored by a glob
const KEY = "phak_e2e_sweep_7c1d2e3f"
const fleet = syntheticApps({ apps: 150, cvms_per_app: 1, seed: 5 })
const strays = Array.from({ length: 6 }, (_, i) => ({
  app_id: `5${String(i + 1).padStart(39, "0")}`,
  name: i === 5 ? "sandbox-tom" : `stray-${i + 1}`,
  cvms: [{ name: `stray-${i + 1}-0`, status: i === 0 ? "stopped" : "running" }]
}))
const reported = strays.filter((s) => !s.name.startsWith("sandbox-"))

const scenario = [
  `api_keys: [${KEY}]`,
  "synthetic: { apps: 150, cvms_per_app: 1, seed: 5 }",
  "apps:",
  ...strays.map((s) => `  - { app_id: "${s.app_id}", name: ${s.name}, cvms: [{ name: ${s.cvms[0]?.name}, status: ${s.cvms[0]?.status} }] }`)
].join("\n")

const config = (fetch: string) =>
  [
    // `fetch:` goes into the head's api block, before `poll:`
    ...testConfigHead.slice(0, testConfigHead.indexOf("poll:")),
    `  fetch: ${fetch}`,
    ...testConfigHead.slice(testConfigHead.indexOf("poll:")),
    "discovery:",
    "  unmanaged: report",
    `  ignore: ["sandbox-*"]`,
    "apps:",
    ...fleet.map((a) => `  - { app_id: "${a.app_id}", name: ${a.name}, replicas: 1 }`)
  ].join("\n")

interface Plan {
  format_version: string
  summary: Record<string, number>
  apps: ReadonlyArray<{ app_id: string; sync: string; drifts: ReadonlyArray<{ kind: string }> }>
  unmanaged?: ReadonlyArray<{ app_id: string; name: string; replicas: number | null; statuses: Record<string, number> }>
}
interface Logged {
  path: string
  query: string
  status: number
}

let sim: Simulator
const env = () => cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY })
const requests = async (): Promise<ReadonlyArray<Logged>> =>
  ((await (await sim.admin("GET", "/_sim/requests")).json()) as { requests: ReadonlyArray<Logged> }).requests
const listReads = (log: ReadonlyArray<Logged>) => log.filter((r) => r.path === "/api/v1/apps")
const appReads = (log: ReadonlyArray<Logged>) => log.filter((r) => r.path.startsWith("/api/v1/apps/"))

beforeAll(async () => {
  sim = await startSimulator(writeTemp("sweep.scenario.yaml", scenario))
})
afterAll(stopAll)
beforeEach(async () => {
  expect((await sim.admin("POST", "/_sim/reset")).ok).toBe(true)
  await sim.admin("DELETE", "/_sim/list")
  await sim.admin("DELETE", "/_sim/requests")
})

describe("the workspace sweep end to end (plan and serve against the simulator)", () => {
  it("api.fetch: list plans 150 apps with one request per page, and reports the unmanaged ones: exit 2", async () => {
    const result = await runCli(["plan", "--output", "json", "--config", writeTemp("list.yaml", config("list"))], env())
    expect(result.stderr).toBe("")
    expect(result.code).toBe(2)
    const plan = JSON.parse(result.stdout) as Plan
    expect(plan.format_version).toBe("1.1")
    expect(plan.summary).toEqual({ apps: 150, in_sync: 150, out_of_sync: 0, unknown: 0, drifts: 0, unmanaged: 5 })
    expect(plan.unmanaged?.map((u) => u.name)).toEqual(["stray-1", "stray-2", "stray-3", "stray-4", "stray-5"])
    expect(plan.unmanaged?.[0]).toEqual({ app_id: strays[0]?.app_id, name: "stray-1", replicas: 1, statuses: { stopped: 1 } })
    const log = await requests()
    expect(listReads(log).map((r) => `${r.query} ${r.status}`).sort()).toEqual(["?page=1&page_size=100 200", "?page=2&page_size=100 200"])
    expect(appReads(log)).toEqual([])
  }, 60_000)

  it("the text plan marks them with + and says they exist but are not declared", async () => {
    const result = await runCli(["plan", "--config", writeTemp("list.yaml", config("list"))], env())
    expect(result.code).toBe(2)
    expect(result.stdout).toContain(`+ app "stray-2" (${strays[1]?.app_id}) exists but is not declared (1 cvm: 1 running)`)
    expect(result.stdout).not.toContain("sandbox-tom")
  }, 60_000)

  it("a page that fails after retries: its declared apps are read one by one, with the same plan", async () => {
    expect((await sim.admin("PUT", "/_sim/list", { pages: [{ page: 2, faults: { statuses: [500, 500] } }] })).ok).toBe(true)
    const result = await runCli(["plan", "--output", "json", "--config", writeTemp("list.yaml", config("list"))], env())
    const plan = JSON.parse(result.stdout) as Plan
    expect(plan.summary).toMatchObject({ apps: 150, in_sync: 150 })
    expect(plan.unmanaged).toHaveLength(5)
    const log = await requests()
    expect(listReads(log).filter((r) => r.query.startsWith("?page=2&")).map((r) => r.status)).toEqual([500, 500])
    // page 2 held the last 56 of the 156 listed apps: the 6 strays come first, so the declared apps 94..149
    expect(appReads(log).map((r) => r.path.slice("/api/v1/apps/".length)).sort()).toEqual(fleet.slice(94).map((a) => a.app_id).sort())
  }, 60_000)

  it("per_app with discovery reads each app and sweeps once for discovery", async () => {
    const result = await runCli(["plan", "--output", "json", "--config", writeTemp("per-app.yaml", config("per_app"))], env())
    expect(result.code).toBe(2)
    const log = await requests()
    expect(appReads(log)).toHaveLength(150)
    expect(listReads(log)).toHaveLength(2)
  }, 60_000)

  it("shards split the unmanaged apps without overlap", async () => {
    const path = writeTemp("list.yaml", config("list"))
    const shards = await Promise.all([0, 1, 2].map(async (i) => {
      const result = await runCli(["plan", "--output", "json", "--config", path, "--shard", String(i), "--total-shards", "3"], env())
      return (JSON.parse(result.stdout) as Plan).unmanaged?.map((u) => u.app_id) ?? []
    }))
    const all = shards.flat()
    expect(new Set(all).size).toBe(all.length)
    expect([...all].sort()).toEqual(reported.map((s) => s.app_id).sort())
    expect(shards.filter((s) => s.length > 0).length).toBeGreaterThan(1)
  }, 90_000)

  it("serve exports phala_app_unmanaged and counts list requests by endpoint", async () => {
    const daemon = await startServe(writeTemp("list.yaml", config("list")), env())
    const metrics = await waitFor("unmanaged series", async () => {
      const text = await (await fetch(`${daemon.base}/metrics`)).text()
      return text.includes(`phala_app_unmanaged{app_id="${strays[0]?.app_id}",app_name="stray-1"} 1`) ? text : undefined
    }, 30_000, 250)
    expect(metrics.match(/^phala_app_unmanaged\{/gm)).toHaveLength(5)
    expect(metrics).toMatch(/^phala_drift_api_requests_total\{code="200",endpoint="list"\} [1-9]/m)
    expect(metrics).not.toMatch(/endpoint="app"/)
    const page = await (await fetch(`${daemon.base}/`)).text()
    expect(page).toContain("Unmanaged apps")
    expect(page).toContain("stray-3")
    daemon.proc.child.kill("SIGTERM")
  }, 60_000)
})
