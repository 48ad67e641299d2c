import { readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { cleanEnv, fixture, runCli, type Simulator, startSimulator, stopAll, tempDir, writeTemp } from "./support/harness.js"

const KEY = "phak_e2e_import_7c3b19"
const id = (n: string) => `b00000000000000000000000000000000000000${n}`
const STEADY = id("1")
const SPREAD = id("2")
const BATCH = id("3")

interface Entry {
  app_id: string
  name?: string
  replicas?: unknown
  status?: string
  cvm?: Record<string, unknown>
  labels?: Record<string, string>
}
interface Imported {
  version: number
  api: Record<string, string>
  apps: ReadonlyArray<Entry>
}

let sim: Simulator
const env = (extra: Record<string, string> = {}) => cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY, ...extra })
const cli = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) => runCli(args, env(extra))
const entry = (doc: Imported, appId: string): Entry => {
  const found = doc.apps.find((a) => a.app_id === appId)
  if (found === undefined) throw new Error(`no app ${appId} imported`)
  return found
}

beforeAll(async () => {
  sim = await startSimulator(fixture("e2e", "import.scenario.yaml"))
})
afterAll(stopAll)
beforeEach(async () => {
  expect((await sim.admin("POST", "/_sim/reset")).ok).toBe(true)
})

describe("import against the simulator", () => {
  it("round trip: import writes a 0644 file without the key that validates and plans clean (exit 0)", async () => {
    const file = join(tempDir(), "imported.yaml")
    const imported = await cli(["import", "--output", file])
    expect(imported.stderr).toContain("3 apps")
    expect(imported.stderr).toContain(`skipped ${id("9")}: HTTP 200: the API did not say how many CVMs run`)
    expect(imported.code).toBe(0)
    expect(imported.stdout).toBe("")
    expect(statSync(file).mode & 0o777).toBe(0o644)
    const text = readFileSync(file, "utf8")
    expect(text).not.toContain(KEY)
    expect(text).toContain("api_key: ${PHALA_CLOUD_API_KEY}")
    const doc = parse(text) as Imported
    expect(doc.version).toBe(1)
    expect(doc.api).toEqual({ url: sim.apiUrl, api_key: "${PHALA_CLOUD_API_KEY}", api_version: "2026-01-21" })
    expect(doc.apps.map((a) => a.name)).toEqual(["nightly-batch", "spread", "steady-api"])

    const validated = await cli(["validate", "--config", file])
    expect(validated.stdout).not.toContain("warning")
    expect(validated.code).toBe(0)
    const planned = await cli(["plan", "--config", file, "--output", "json"])
    expect(planned.code).toBe(0)
    expect(JSON.parse(planned.stdout).summary).toMatchObject({ apps: 3, in_sync: 3, drifts: 0 })

    // printed to stdout without --output: the same document
    const printed = await cli(["import"])
    expect(printed.code).toBe(0)
    expect(printed.stdout).toBe(text)
  })

  it("pins replicas, status and only the attributes on which all of an app's CVMs agree", async () => {
    const doc = parse((await cli(["import"])).stdout) as Imported
    const steady = entry(doc, STEADY)
    expect(steady).toMatchObject({ name: "steady-api", replicas: 2, status: "running" })
    expect(steady.cvm).toMatchObject({ instance_type: "tdx.large", vcpu: 4, memory_mb: 8192, node: "prod6", region: "EU-WEST-1" })
    expect(steady.cvm?.["compose_hash"]).toMatch(/^[0-9a-f]{64}$/)
    const spread = entry(doc, SPREAD)
    expect(spread.replicas).toBe(2)
    expect(Object.keys(spread.cvm ?? {})).toEqual(["instance_type", "vcpu", "memory_mb", "disk_gb", "base_image", "kms_type"])
    expect(entry(doc, BATCH)).toMatchObject({ replicas: 1, status: "stopped" })
  })

  it("--app limits the import to those ids; an id the workspace does not have is an error", async () => {
    const only = await cli(["import", "--app", `app_${SPREAD}`, "--app", BATCH.toUpperCase()])
    expect(only.code).toBe(0)
    expect((parse(only.stdout) as Imported).apps.map((a) => a.app_id)).toEqual([BATCH, SPREAD])
    const missing = await cli(["import", "--app", id("8")])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(`${id("8")}: no such app in the workspace`)
    expect(missing.stdout).toBe("")
    const bad = await cli(["import", "--app", "not-an-id"])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain("--app")
  })

  it("--config: declared apps and comments stay as written, new apps are appended, the result plans clean", async () => {
    const dir = tempDir()
    const existing = [
      "# Fleet of the search team. Reviewed weekly.",
      "version: 1",
      "api:",
      "  api_key: ${PHALA_CLOUD_API_KEY}   # from the vault",
      "  api_version: \"2026-01-21\"",
      "  timeout: 5s",
      "  retries: 1",
      "",
      "apps:",
      "  # steady-api may scale up to 4 during sales",
      `  - app_id: ${STEADY}`,
      "    name: steady",
      "    replicas: { min: 1, max: 4 }",
      "    labels: { team: search }",
      ""
    ].join("\n")
    const config = writeTemp("desired.yaml", existing, dir)
    const out = join(dir, "merged.yaml")
    const merged = await cli(["import", "--config", config, "--output", out])
    expect(merged.stderr).toContain("2 new apps appended, 1 already declared")
    expect(merged.code).toBe(0)
    const text = readFileSync(out, "utf8")
    for (const kept of ["# Fleet of the search team. Reviewed weekly.", "# from the vault", "# steady-api may scale up to 4 during sales", "    replicas: { min: 1, max: 4 }", "    labels: { team: search }"]) {
      expect(text).toContain(kept)
    }
    const doc = parse(text) as Imported
    expect(doc.apps.map((a) => a.app_id)).toEqual([STEADY, BATCH, SPREAD])
    expect(doc.apps[0]).toEqual({ app_id: STEADY, name: "steady", replicas: { min: 1, max: 4 }, labels: { team: "search" } })
    expect(readFileSync(config, "utf8")).toBe(existing)
    expect((await cli(["validate", "--config", out])).code).toBe(0)
    expect((await cli(["plan", "--config", out])).code).toBe(0)

    // a second run has nothing to add: the file comes back as it is
    const again = await cli(["import", "--config", out])
    expect(again.code).toBe(0)
    expect(again.stdout).toBe(text)
    expect(again.stderr).toContain("0 new apps appended, 3 already declared")
  })

  it("--config with a secret written as a value is refused: import never copies a key", async () => {
    const config = writeTemp("desired.yaml", `version: 1\napi: { api_key: ${KEY} }\napps: []\n`)
    const result = await runCli(["import", "--config", config], cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl }))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("api.api_key holds a secret written as a value")
    expect(result.stdout + result.stderr).not.toContain(KEY)
  })

  it("a key the API rejects exits 1 with the same note as plan; no key at all is an error too", async () => {
    const rejected = await cli(["import"], { PHALA_CLOUD_API_KEY: "phak_wrong" })
    expect(rejected.code).toBe(1)
    expect(rejected.stderr).toContain("API key rejected (HTTP 401)")
    expect(rejected.stdout).toBe("")
    const none = await runCli(["import"], cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl }))
    expect(none.code).toBe(1)
    expect(none.stderr).toContain("no API key")
  })

  it("compose_hash drift: a CVM redeployed with another compose is attribute drift in the next plan", async () => {
    const file = join(tempDir(), "imported.yaml")
    expect((await cli(["import", "--output", file])).code).toBe(0)
    const other = "ab".repeat(32)
    const patched = await sim.admin("PATCH", `/_sim/apps/${STEADY}/cvms/00000000-0000-4000-8000-000000000b12`, { compose_hash: other })
    expect(patched.ok).toBe(true)
    const planned = await cli(["plan", "--config", file, "--output", "json"])
    expect(planned.code).toBe(2)
    const steady = (JSON.parse(planned.stdout) as { apps: ReadonlyArray<{ app_id: string; drifts: ReadonlyArray<Record<string, unknown>> }> })
      .apps.find((a) => a.app_id === STEADY)
    expect(steady?.drifts).toEqual([
      expect.objectContaining({ kind: "attribute", vm_uuid: "00000000-0000-4000-8000-000000000b12", field: "compose_hash", actual: other })
    ])
  })

  it("validate warns at the key when compose_hash is declared but the api_version cannot report it", async () => {
    const config = writeTemp("desired.yaml", [
      "version: 1",
      "api: { api_key: \"${PHALA_CLOUD_API_KEY}\", api_version: \"2025-10-28\" }",
      "apps:",
      `  - app_id: ${STEADY}`,
      `    cvm: { compose_hash: ${"ab".repeat(32)} }`,
      ""
    ].join("\n"))
    const result = await cli(["validate", "--config", config])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`${config}:5:26: apps[0].cvm.compose_hash: warning: never compared: api_version "2025-10-28"`)
    const json = await cli(["validate", "--config", config, "--output", "json"])
    expect(JSON.parse(json.stdout).warnings).toEqual([
      expect.objectContaining({ path: "apps[0].cvm.compose_hash", line: 5, column: 26 })
    ])
  })
})

describe("import of a workspace larger than one page", () => {
  it("reads every page of GET /apps: 230 apps over 3 pages, written once each, and the result plans clean", async () => {
    const big = await startSimulator(writeTemp("big.scenario.yaml", [
      `api_keys: [${KEY}]`,
      "synthetic: { apps: 230, cvms_per_app: 2, seed: 11 }",
      ""
    ].join("\n")))
    const bigEnv = cleanEnv({ PHALA_CLOUD_API_URL: big.apiUrl, PHALA_CLOUD_API_KEY: KEY })
    await big.admin("DELETE", "/_sim/requests")
    const file = join(tempDir(), "imported.yaml")
    const imported = await runCli(["import", "--output", file], bigEnv)
    expect(imported.code).toBe(0)
    const log = (await (await big.admin("GET", "/_sim/requests")).json()) as { requests: ReadonlyArray<{ path: string; query: string }> }
    expect(log.requests.filter((r) => r.path === "/api/v1/apps").map((r) => new URLSearchParams(r.query).get("page")).sort())
      .toEqual(["1", "2", "3"])
    const doc = parse(readFileSync(file, "utf8")) as Imported
    expect(doc.apps).toHaveLength(230)
    expect(new Set(doc.apps.map((a) => a.app_id)).size).toBe(230)
    expect(doc.apps.every((a) => a.replicas === 2 && a.status === "running")).toBe(true)
    expect((await runCli(["plan", "--config", file], bigEnv)).code).toBe(0)
  })
})
