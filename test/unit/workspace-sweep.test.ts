import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import { PhalaClient } from "../../src/Cloud/PhalaClient.js"
import { laterPages, maxSweepPages, mergePages, sweepWorkspace } from "../../src/Cloud/WorkspaceSweep.js"
import type { ListPage } from "../../src/Cloud/AppResponse.js"
import type { ApiSettings } from "../../src/Core/Domain/App.js"
import { Events } from "../../src/Runtime/Events.js"
import { type RunningSimulator, serveScenarioInput, syntheticApps } from "../../src/Simulator/Simulator.js"

const KEY = "phak_sweep_test_key_0123456789"
const fleet = syntheticApps({ apps: 250, cvms_per_app: 2, seed: 7 })
const ids = fleet.map((a) => a.app_id ?? "")
const MINIMAL = "527dd50798291545560d6d07ca0ab7220f955e0e"
const ADDED = "0aed1acdab34da8b49d2471fa63a201ded86891c"

const quiet = Logger.minimumLogLevel(LogLevel.Warning)

const start = (extra: Record<string, unknown> = {}) =>
  serveScenarioInput({ api_keys: [KEY], apps: fleet, ...extra }, { port: 0 }).pipe(Effect.provide(quiet))

const settings = (sim: RunningSimulator, retries = 2, timeout = Duration.seconds(10)): ApiSettings => ({
  url: `${sim.url}/api/v1`,
  apiKey: Redacted.make(KEY),
  apiVersion: "2025-10-28",
  timeout,
  retries,
  concurrency: 4
})

const sweep = (sim: RunningSimulator, retries = 2, timeout?: Duration.Duration) =>
  sweepWorkspace({ concurrency: 4 }).pipe(
    Effect.provide(PhalaClient.layer(settings(sim, retries, timeout)).pipe(Layer.provide(FetchHttpClient.layer), Layer.provide(Events.Default))),
    Effect.provide(quiet)
  )

const listRequests = (sim: RunningSimulator) =>
  sim.state.requests.list().filter((r) => r.path === "/api/v1/apps").map((r) => `${r.query.replace(/^\?/, "")} ${r.status}`)

const page = (n: number, appIds: ReadonlyArray<string>, totalPages = 3): ListPage => ({
  page: n,
  pageSize: 100,
  total: 250,
  totalPages,
  entries: appIds.map((appId) => ({ appId, name: null, app: null })),
  rejected: 0
})

describe("mergePages and laterPages", () => {
  it("counts an app that shifted onto two pages once, as first read", () => {
    const merged = mergePages([page(1, ["a", "b"]), page(2, ["b", "c"])])
    expect([...merged.keys()]).toEqual(["a", "b", "c"])
  })

  it("reads the pages page 1 announces, capped so a hostile total_pages cannot flood the API", () => {
    expect(laterPages(page(1, [], 3))).toEqual([2, 3])
    expect(laterPages(page(1, [], 0))).toEqual([])
    expect(laterPages(page(1, [], 10_000_000))).toHaveLength(maxSweepPages - 1)
  })
})

describe("sweepWorkspace against the simulator", () => {
  it.scopedLive("one request per page of 100, every app once with its CVMs", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const result = yield* sweep(sim)
      expect(listRequests(sim).sort()).toEqual(["page=1&page_size=100 200", "page=2&page_size=100 200", "page=3&page_size=100 200"])
      expect(result).toMatchObject({ total: 250, pagesRead: 3, failures: [], complete: true })
      expect([...result.apps.keys()].sort()).toEqual([...ids].sort())
      const first = result.apps.get(ids[0] ?? "")
      expect(first?.app?.replicas).toBe(2)
      expect(first?.app?.cvms.map((c) => c.status)).toEqual(["running", "running"])
    }))

  it.scopedLive("an empty workspace is one request and complete", () =>
    Effect.gen(function*() {
      const sim = yield* serveScenarioInput({ api_keys: [KEY] }, { port: 0 }).pipe(Effect.provide(quiet))
      const result = yield* sweep(sim)
      expect(result).toMatchObject({ total: 0, pagesRead: 1, complete: true })
      expect(result.apps.size).toBe(0)
      expect(listRequests(sim)).toEqual(["page=1&page_size=100 200"])
    }))

  it.scopedLive("a page that keeps failing is reported, the other pages still count", () =>
    Effect.gen(function*() {
      const sim = yield* start({ list: { pages: [{ page: 2, faults: { statuses: [500, 500, 500] } }] } })
      const result = yield* sweep(sim, 2)
      expect(result.complete).toBe(false)
      expect(result.failures).toHaveLength(1)
      expect(result.failures[0]).toMatchObject({ page: 2, reason: "server", status: 500 })
      expect(result.failures[0]?.message).toContain("(3 attempts)")
      expect(result.apps.size).toBe(150)
      expect(result.apps.has(ids[0] ?? "")).toBe(true)
      expect(result.apps.has(ids[100] ?? "")).toBe(false)
      expect(listRequests(sim).filter((r) => r.startsWith("page=2&")).length).toBe(3)
    }))

  it.scopedLive("a failing page 1 leaves nothing seen and says so", () =>
    Effect.gen(function*() {
      const sim = yield* start({ list: { pages: [{ page: 1, faults: { statuses: [503] } }] } })
      const result = yield* sweep(sim, 0)
      expect(result).toMatchObject({ total: null, pagesRead: 1, complete: false })
      expect(result.failures[0]).toMatchObject({ page: 1, reason: "server", status: 503 })
    }))

  it.scopedLive("429 with Retry-After on a page is waited out and retried", () =>
    Effect.gen(function*() {
      const sim = yield* start({ list: { pages: [{ page: 3, faults: { rate_limit: { count: 1, retry_after: 1 } } }] } })
      const started = Date.now()
      const result = yield* sweep(sim)
      expect(result.complete).toBe(true)
      expect(result.apps.size).toBe(250)
      expect(listRequests(sim).filter((r) => r.startsWith("page=3&"))).toEqual(["page=3&page_size=100 429", "page=3&page_size=100 200"])
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
    }))

  it.scopedLive("a malformed page is bad_response and not retried; wrong types likewise", () =>
    Effect.gen(function*() {
      const sim = yield* start({ list: { pages: [{ page: 2, faults: { malformed: true } }, { page: 3, faults: { wrong_types: true } }] } })
      const result = yield* sweep(sim)
      expect(result.failures.map((f) => [f.page, f.reason])).toEqual([[2, "bad_response"], [3, "bad_response"]])
      expect(result.failures[0]?.message).toContain("invalid JSON")
      expect(result.failures[1]?.message).toContain("unexpected list page")
      expect(listRequests(sim)).toHaveLength(3)
    }))

  it.scopedLive("a page larger than api.max_response_bytes is bad_response, read no further", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const result = yield* sweepWorkspace({ concurrency: 4 }).pipe(
        Effect.provide(
          PhalaClient.layer({ ...settings(sim), maxResponseBytes: 64 * 1024 }).pipe(Layer.provide(FetchHttpClient.layer), Layer.provide(Events.Default))
        ),
        Effect.provide(quiet)
      )
      expect(result).toMatchObject({ total: null, complete: false })
      expect(result.failures[0]).toMatchObject({ page: 1, reason: "bad_response", status: 200 })
      expect(result.failures[0]?.message).toContain("body larger than 64 KiB")
    }))

  it.scopedLive("latency applies to every page; a page that hangs times out and is reported", () =>
    Effect.gen(function*() {
      const sim = yield* start({ list: { faults: { latency: "300ms" }, pages: [{ page: 3, faults: { hang: true } }] } })
      const started = Date.now()
      const result = yield* sweep(sim, 0, Duration.seconds(2))
      expect(Date.now() - started).toBeGreaterThanOrEqual(600)
      expect(result.failures.map((f) => [f.page, f.reason])).toEqual([[3, "timeout"]])
      expect(result.apps.size).toBe(200)
    }))

  it.scopedLive("an app added after page 1 shifts the pages: the app pushed onto page 2 is counted once", () =>
    Effect.gen(function*() {
      const sim = yield* start({ list: { shifts: [{ after_page: 1, add: { app_id: ADDED, name: "late", cvms: [{ name: "late-0" }] } }] } })
      const result = yield* sweep(sim)
      // page 1 held apps 0..99; the insertion pushed app 99 to the top of page 2, where it is read again
      expect(result.apps.size).toBe(250)
      expect(result.apps.has(ids[99] ?? "")).toBe(true)
      // the new app sits on page 1, already read: this sweep does not see it, the next one will
      expect(result.apps.has(ADDED)).toBe(false)
      expect(result.complete).toBe(true)
    }))

  it.scopedLive("an app removed after page 1 pulls the next one onto page 1: it slips past the sweep", () =>
    Effect.gen(function*() {
      const sim = yield* start({ list: { shifts: [{ after_page: 1, remove: ids[5] ?? "" }] } })
      const result = yield* sweep(sim)
      expect(result.apps.has(ids[5] ?? "")).toBe(true)
      expect(result.apps.has(ids[100] ?? "")).toBe(false)
      expect(result.apps.size).toBe(249)
    }))

  it.scopedLive("a minimal entry is listed without CVMs, so its app must be read on its own", () =>
    Effect.gen(function*() {
      const sim = yield* serveScenarioInput(
        { api_keys: [KEY], apps: [{ app_id: MINIMAL, name: "ghost", shape: "minimal" }, ...fleet.slice(0, 3)] },
        { port: 0 }
      ).pipe(Effect.provide(quiet))
      const result = yield* sweep(sim)
      expect(result.apps.get(MINIMAL)).toEqual({ appId: MINIMAL, name: null, app: null })
      expect(result.apps.get(ids[1] ?? "")?.app?.replicas).toBe(2)
    }))
})
