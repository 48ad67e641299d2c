import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { cleanEnv, fixture, runCli, type Simulator, startSimulator, stopAll, writeTemp } from "./support/harness.js"

const KEY = "phak_e2e_secret_4d1f9a7c"
const CONFIG = fixture("e2e", "fleet.desired.yaml")
const id = (n: string) => `a0000000000000000000000000000000000000${n}`

interface PlanApp {
  app_id: string
  name: string
  sync: string
  error: { reason: string; status: number | null; message: string } | null
  observed: { replicas: number; statuses: Record<string, number> } | null
  drifts: ReadonlyArray<Record<string, unknown>>
}
interface Plan {
  format_version: string
  generated_at: string
  summary: Record<string, number>
  apps: ReadonlyArray<PlanApp>
}

let sim: Simulator
const env = (extra: Record<string, string> = {}) => cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY, ...extra })
const plan = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) => runCli(["plan", "--config", CONFIG, ...args], env(extra))
const app = (p: Plan, appId: string): PlanApp => {
  const found = p.apps.find((a) => a.app_id === appId)
  if (found === undefined) throw new Error(`no app ${appId} in plan`)
  return found
}

beforeAll(async () => {
  sim = await startSimulator(fixture("e2e", "fleet.scenario.yaml"))
})
afterAll(stopAll)
beforeEach(async () => {
  expect((await sim.admin("POST", "/_sim/reset")).ok).toBe(true)
  await sim.admin("DELETE", "/_sim/requests")
})

describe("plan against the simulator", () => {
  it("prints exactly the plan JSON on stdout, exits 2, and classifies every app", async () => {
    const result = await plan(["--output", "json"])
    expect(result.code).toBe(2)
    const p = JSON.parse(result.stdout) as Plan
    expect(p.format_version).toBe("1.1")
    expect(Number.isNaN(Date.parse(p.generated_at))).toBe(false)
    expect(p.apps.map((a) => a.app_id)).toEqual(["01", "02", "03", "04", "05", "06", "07", "08", "09", "0a"].map(id))
    expect(p.summary).toEqual({ apps: 10, in_sync: 4, out_of_sync: 2, unknown: 4, drifts: 3 })

    expect(app(p, id("01"))).toMatchObject({ name: "in-sync", sync: "in_sync", error: null, drifts: [], observed: { replicas: 2, statuses: { running: 2 } } })
    const drifted = app(p, id("02"))
    expect(drifted.name).toBe("drifted-app")
    expect(drifted.sync).toBe("out_of_sync")
    expect(drifted.drifts).toEqual([
      { kind: "status", vm_uuid: "00000000-0000-4000-8000-000000000202", cvm_name: "drifted-1", field: "status", desired: "running", actual: "stopped" },
      { kind: "attribute", vm_uuid: "00000000-0000-4000-8000-000000000202", cvm_name: "drifted-1", field: "instance_type", desired: "tdx.large", actual: "tdx.medium" }
    ])
    expect(app(p, id("03"))).toMatchObject({ name: "flaky", sync: "in_sync" })
    expect(app(p, id("04"))).toMatchObject({ name: id("04"), sync: "unknown", error: { reason: "timeout", status: null }, observed: null, drifts: [] })
    expect(app(p, id("05"))).toMatchObject({ name: "throttled", sync: "in_sync" })
    expect(app(p, id("06"))).toMatchObject({
      name: "gone",
      sync: "out_of_sync",
      drifts: [{ kind: "missing_app", vm_uuid: null, cvm_name: null, field: "app", desired: "present", actual: "absent" }]
    })
    expect(app(p, id("07"))).toMatchObject({ sync: "unknown", error: { reason: "bad_response", status: 200 } })
    expect(app(p, id("08"))).toMatchObject({ name: "new-shape", sync: "in_sync", observed: { replicas: 1, statuses: { running: 1 } } })
    expect(app(p, id("09"))).toMatchObject({ sync: "unknown", error: { reason: "bad_response" } })
    expect(app(p, id("0a"))).toMatchObject({ sync: "unknown", error: { reason: "forbidden", status: 403 } })
  })

  it("retried the flaky and throttled apps, never the 404 or 403", async () => {
    await plan(["--output", "json"])
    const log = (await (await sim.admin("GET", "/_sim/requests")).json()) as { requests: ReadonlyArray<{ app_id: string | null; status: number }> }
    const statuses = (n: string) => log.requests.filter((r) => r.app_id === id(n)).map((r) => r.status)
    expect(statuses("03")).toEqual([503, 502, 200])
    expect(statuses("05")).toEqual([429, 200])
    expect(statuses("06")).toEqual([404])
    expect(statuses("0a")).toEqual([403])
    expect(statuses("07")).toEqual([200])
  })

  it("sends the contract's headers and never echoes the key", async () => {
    const result = await plan([])
    const log = (await (await sim.admin("GET", "/_sim/requests")).json()) as {
      requests: ReadonlyArray<Record<string, unknown>>
    }
    expect(log.requests.length).toBeGreaterThan(9)
    for (const r of log.requests) {
      expect(r).toMatchObject({ api_key: "valid", x_phala_version: "2025-10-28", accept: "application/json" })
      expect(String(r["user_agent"])).toMatch(/^phala-drift\/\d+\.\d+\.\d+$/)
    }
    expect(result.stdout + result.stderr).not.toContain(KEY)
  })

  it("renders a Terraform-like text plan without colour when not on a TTY", async () => {
    const result = await plan([])
    expect(result.code).toBe(2)
    expect(result.stdout).toContain(`~ app "drifted-app" (${id("02")}) is out of sync`)
    expect(result.stdout).toMatch(/~ status\s+= "running" -> "stopped" \(degraded\)/)
    expect(result.stdout).toMatch(/~ instance_type = "tdx.large" -> "tdx.medium"/)
    expect(result.stdout).toContain(`- app "gone" (${id("06")}) is missing`)
    expect(result.stdout).toContain(`? app "${id("04")}" (${id("04")}) could not be observed: timeout`)
    expect(result.stdout).toContain(`✓ app "in-sync" (${id("01")}) is in sync`)
    expect(result.stdout).toContain("Plan: 4 in sync, 2 out of sync, 4 unknown, 3 drifts (10 apps).")
    expect(result.stdout).not.toContain("\u001b[")
  })

  it("exits 0 when the selected apps are in sync, also with the 2026-01-21 shape for every app", async () => {
    const selected = ["--app", id("01"), "--app", `app_${id("08")}`, "--output", "json"]
    const legacy = await plan(selected)
    expect(legacy.code).toBe(0)
    expect((JSON.parse(legacy.stdout) as Plan).summary).toEqual({ apps: 2, in_sync: 2, out_of_sync: 0, unknown: 0, drifts: 0 })

    const config = writeTemp("desired.yaml", (await import("node:fs")).readFileSync(CONFIG, "utf8").replace('api_version: "2025-10-28"', 'api_version: "2026-01-21"'))
    await sim.admin("DELETE", "/_sim/requests")
    const modern = await runCli(["plan", "--config", config, ...selected], env())
    expect(modern.code).toBe(0)
    const log = (await (await sim.admin("GET", "/_sim/requests")).json()) as { requests: ReadonlyArray<{ x_phala_version: string }> }
    expect(new Set(log.requests.map((r) => r.x_phala_version))).toEqual(new Set(["2026-01-21"]))
  })

  it("exits 3 when nothing drifts but an app is unknown", async () => {
    const result = await plan(["--app", id("07"), "--app", id("01"), "--output", "json"])
    expect(result.code).toBe(3)
    expect((JSON.parse(result.stdout) as Plan).summary).toMatchObject({ in_sync: 1, unknown: 1, out_of_sync: 0 })
  })

  it("makes every app unknown (auth) with a wrong key and exits 1 saying so, without printing either key", async () => {
    const result = await plan(["--output", "json"], { PHALA_CLOUD_API_KEY: "phak_wrong_key_99887766" })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("API key rejected")
    const p = JSON.parse(result.stdout) as Plan
    expect(new Set(p.apps.map((a) => a.error?.reason))).toEqual(new Set(["auth"]))
    expect(result.stdout + result.stderr).not.toContain("phak_wrong_key_99887766")
    expect(result.stdout + result.stderr).not.toContain(KEY)
  })

  it("splits the apps between shards: each app in exactly one, every app in some", async () => {
    const ids = await Promise.all([0, 1].map(async (shard) => {
      const result = await plan(["--output", "json", "--shard", String(shard), "--total-shards", "2"])
      return (JSON.parse(result.stdout) as Plan).apps.map((a) => a.app_id)
    }))
    expect(ids[0]?.length).toBeGreaterThan(0)
    expect(ids[1]?.length).toBeGreaterThan(0)
    expect([...(ids[0] ?? []), ...(ids[1] ?? [])].sort()).toEqual(["01", "02", "03", "04", "05", "06", "07", "08", "09", "0a"].map(id))
    expect((await plan(["--shard", "2", "--total-shards", "2"])).code).toBe(1)
  })

  it("exits 1 for an --app that is not declared, and for an invalid config", async () => {
    const unknownApp = await plan(["--app", "ffffffffffffffffffffffffffffffffffffffff"])
    expect(unknownApp.code).toBe(1)
    expect(unknownApp.stderr).toContain("ffffffffffffffffffffffffffffffffffffffff")
    const bad = writeTemp("bad.yaml", "version: 1\napps:\n  - app_id: nothex\n")
    const invalid = await runCli(["plan", "--config", bad, "--output", "json"], env())
    expect(invalid.code).toBe(1)
    expect(invalid.stdout).toBe("")
    expect(invalid.stderr).toMatch(/bad\.yaml:3:\d+: apps\[0\]\.app_id/)
  })
})

describe("validate", () => {
  it("accepts the fixture config and never touches the network", async () => {
    await sim.admin("DELETE", "/_sim/requests")
    const text = await runCli(["validate", "--config", CONFIG], env())
    expect(text.code).toBe(0)
    const json = await runCli(["validate", "--config", CONFIG, "--output", "json"], env())
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true })
    const log = (await (await sim.admin("GET", "/_sim/requests")).json()) as { requests: ReadonlyArray<unknown> }
    expect(log.requests).toEqual([])
  })

  it("reports every error with file:line:col and key path, in text and JSON, exit 1", async () => {
    const bad = writeTemp("broken.yaml", [
      "version: 1",
      "poll:",
      "  interval: 30 seconds",
      "apps:",
      "  - app_id: 2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4",
      "    replicas: { min: 3, max: 2 }",
      "    status: paused",
      "    colour: blue",
      ""
    ].join("\n"))
    const text = await runCli(["validate", "--config", bad], env())
    expect(text.code).toBe(1)
    expect(text.stdout).toMatch(/broken\.yaml:3:\d+: poll\.interval/)
    expect(text.stdout).toMatch(/broken\.yaml:6:\d+: apps\[0\]\.replicas/)
    expect(text.stdout).toMatch(/broken\.yaml:7:\d+: apps\[0\]\.status/)
    expect(text.stdout).toMatch(/broken\.yaml:8:\d+: apps\[0\]\.colour/)
    const json = await runCli(["validate", "--config", bad, "--output", "json"], env())
    expect(json.code).toBe(1)
    const report = JSON.parse(json.stdout) as { valid: boolean; errors: ReadonlyArray<{ line: number; path: string }> }
    expect(report.valid).toBe(false)
    expect(report.errors.map((e) => e.line).sort()).toEqual([3, 6, 7, 8])
  })
})
