import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ROOT, type Simulator, startSimulator, stopAll, waitFor, writeTemp } from "./support/harness.js"

// The benchmarks' stand-in API must answer like the simulator (and so like the reference): same bodies in both
// versions, same list pages, same errors. Only the clock-derived timestamps may differ (each starts its own world).
const KEY = "phak_bench_0123456789"
const scenario = { api_keys: [KEY], default_version: "2025-10-28", synthetic: { apps: 7, cvms_per_app: 2, seed: 42, name_prefix: "bench-app" } }

let sim: Simulator
let standin: ChildProcessWithoutNullStreams
let standinBase: string

beforeAll(async () => {
  sim = await startSimulator(writeTemp("scenario.yaml", JSON.stringify(scenario)))
  standin = spawn(process.execPath, [join(ROOT, "bench", "standin.js"), "--apps", "7", "--cvms", "2", "--seed", "42"], { cwd: ROOT })
  let out = ""
  standin.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d
  })
  const port = await waitFor("stand-in", async () => {
    const line = out.split("\n").find((l) => l.startsWith("{"))
    return line === undefined ? undefined : (JSON.parse(line) as { port: number }).port
  })
  standinBase = `http://127.0.0.1:${port}`
})

afterAll(async () => {
  standin?.kill("SIGTERM")
  await stopAll()
})

const timestamps = new Set(["updated_at", "created_at"])

/** The JSON with clock-derived timestamps blanked (both worlds start at their own "now"). */
const normalised = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(normalised)
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, timestamps.has(k) && typeof v === "string" ? "<time>" : normalised(v)]))
    : value

const both = async (path: string, headers: Record<string, string> = { "x-api-key": KEY }) => {
  const answers = await Promise.all([sim.base, standinBase].map(async (base) => {
    const r = await fetch(`${base}${path}`, { headers })
    return { status: r.status, body: normalised(await r.json()) }
  }))
  return { simulator: answers[0], standin: answers[1] }
}

describe("bench stand-in API", () => {
  it("serves every app like the simulator, in both response versions", async () => {
    const ids = (await (await fetch(`${standinBase}/_standin/apps`)).json()) as ReadonlyArray<string>
    expect(ids).toHaveLength(7)
    for (const id of ids) {
      for (const version of [null, "2025-10-28", "2026-01-21", "1999-01-01"]) {
        const { simulator, standin } = await both(`/api/v1/apps/${id}`, { "x-api-key": KEY, ...(version === null ? {} : { "x-phala-version": version }) })
        expect(simulator?.status).toBe(200)
        expect(standin).toEqual(simulator)
      }
    }
    const { simulator, standin } = await both(`/api/v1/apps/app_${ids[3]}`)
    expect(standin).toEqual(simulator)
  })

  it("pages the list and rejects bad queries exactly as the simulator does", async () => {
    const queries = [
      "",
      "?page=2&page_size=3",
      "?page=3&page_size=3",
      "?page=99",
      "?page_size=100",
      "?page=1&page=2&page_size=2",
      "?page=0",
      "?page_size=101",
      "?page=abc&page_size=0"
    ]
    for (const query of queries) {
      for (const version of ["2025-10-28", "2026-01-21"]) {
        const { simulator, standin } = await both(`/api/v1/apps${query}`, { "x-api-key": KEY, "x-phala-version": version })
        expect(standin, query).toEqual(simulator)
      }
    }
    const page = (await both("/api/v1/apps?page=3&page_size=3")).standin?.body as { dstack_apps: ReadonlyArray<unknown>; total_pages: number }
    expect(page.dstack_apps).toHaveLength(1)
    expect(page.total_pages).toBe(3)
  })

  it("answers unknown apps and missing or wrong keys like the simulator", async () => {
    for (const [path, headers] of [
      ["/api/v1/apps/0000000000000000000000000000000000000000", { "x-api-key": KEY }],
      ["/api/v1/apps", {}],
      ["/api/v1/apps", { "x-api-key": "phak_wrong" }]
    ] as const) {
      const { simulator, standin } = await both(path, headers)
      expect(simulator?.status).toBeGreaterThanOrEqual(400)
      expect(standin).toEqual(simulator)
    }
  })

  it("sets a CVM's status like the simulator's admin route, and counts the reads of each app", async () => {
    const ids = (await (await fetch(`${standinBase}/_standin/apps`)).json()) as ReadonlyArray<string>
    const id = ids[2] ?? ""
    const app = (await (await fetch(`${standinBase}/api/v1/apps/${id}`, { headers: { "x-api-key": KEY } })).json()) as { cvms: ReadonlyArray<{ vm_uuid: string }> }
    const vm = app.cvms[1]?.vm_uuid ?? ""
    const put = (base: string, prefix: string, cvm: string, body: unknown) =>
      fetch(`${base}/${prefix}/apps/${id}/cvms/${cvm}/status`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    expect((await put(sim.base, "_sim", vm, { status: "stopped" })).status).toBe(200)
    expect((await put(standinBase, "_standin", vm, { status: "stopped" })).status).toBe(200)
    expect((await put(standinBase, "_standin", "nope", { status: "stopped" })).status).toBe(404)
    expect((await put(standinBase, "_standin", vm, { status: "" })).status).toBe(422)
    for (const path of [`/api/v1/apps/${id}`, "/api/v1/apps?page=1&page_size=5"]) {
      const { simulator, standin } = await both(path)
      expect(JSON.stringify(standin?.body)).toContain("\"stopped\"")
      expect(standin, path).toEqual(simulator)
    }
    const reads = (await (await fetch(`${standinBase}/_standin/apps/${id}/reads`)).json()) as { count: number; last_ms: number }
    expect(reads.count).toBeGreaterThanOrEqual(2)
    expect(Math.abs(Date.now() - reads.last_ms)).toBeLessThan(60_000)
  })
})
