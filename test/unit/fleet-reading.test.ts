import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Logger, LogLevel, Option, Redacted } from "effect"
import { chooseReading, type CycleOptions, observeAndDiff } from "../../src/Cloud/Observe.js"
import { PhalaClient } from "../../src/Cloud/PhalaClient.js"
import { evaluate } from "../../src/Core/Alerting/Rules.js"
import { ignoreMatcher, unmanagedApps } from "../../src/Core/Discovery.js"
import type { Alert } from "../../src/Core/Domain/Alert.js"
import type { ApiSettings, DesiredApp } from "../../src/Core/Domain/App.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { shardOf } from "../../src/Core/Domain/Shard.js"
import { planExitCode, planJson } from "../../src/Core/Plan/PlanJson.js"
import { planText } from "../../src/Core/Plan/PlanText.js"
import { diffApp } from "../../src/Core/Diff.js"
import { Observation } from "../../src/Core/Domain/Observation.js"
import { renderStatusPage } from "../../src/Http/StatusPage.js"
import { LatestSnapshot } from "../../src/Runtime/LatestSnapshot.js"
import { Events } from "../../src/Runtime/Events.js"
import { type RunningSimulator, serveScenarioInput, syntheticApps } from "../../src/Simulator/Simulator.js"
import { desiredApp } from "../support/builders.js"

const KEY = "phak_fleet_reading_key_0123456789"
const fleet = syntheticApps({ apps: 250, cvms_per_app: 2, seed: 11 })
const ids = fleet.map((a) => a.app_id ?? "")
const ADDED = "0aed1acdab34da8b49d2471fa63a201ded86891c"
const quiet = Logger.minimumLogLevel(LogLevel.Error)

/** The first `n` apps of the fleet declared, as their names and two running CVMs. */
const declared = (n: number): ReadonlyArray<DesiredApp> =>
  fleet.slice(0, n).map((a) => desiredApp({ appId: a.app_id ?? "", name: a.name ?? null, replicas: { min: 2, max: 2 } }))

const start = (extra: Record<string, unknown> = {}, apps: ReadonlyArray<unknown> = fleet) =>
  serveScenarioInput({ api_keys: [KEY], apps, ...extra }, { port: 0 }).pipe(Effect.provide(quiet))

const settings = (sim: RunningSimulator): ApiSettings => ({
  url: `${sim.url}/api/v1`,
  apiKey: Redacted.make(KEY),
  apiVersion: "2025-10-28",
  timeout: Duration.seconds(10),
  retries: 1,
  concurrency: 8
})

const observe = (sim: RunningSimulator, apps: ReadonlyArray<DesiredApp>, options: Omit<CycleOptions, "concurrency">) =>
  observeAndDiff(apps, { concurrency: 8, ...options }).pipe(
    Effect.provide(PhalaClient.layer(settings(sim)).pipe(Layer.provide(FetchHttpClient.layer), Layer.provide(Events.Default))),
    Effect.provide(quiet)
  )

/** Requests since the last call, as `list` or the app id read. */
const drain = (sim: RunningSimulator) => {
  const seen = sim.state.requests.list().map((r) => (r.path === "/api/v1/apps" ? "list" : r.path.replace("/api/v1/apps/", "")))
  sim.state.requests.clear()
  return seen
}

/** What a plan says about each app, without the time it was made. */
const verdicts = (snapshot: Snapshot) =>
  snapshot.apps.map((a) => ({ app: a.appId, sync: a.sync, drifts: a.drifts, observed: a.observed, cvms: a.cvms }))

describe("chooseReading (api.fetch)", () => {
  it("takes what it is told, and in auto whichever needs fewer requests", () => {
    expect(chooseReading("per_app", 5000, 10)).toBe("per_app")
    expect(chooseReading("list", 1, 100_000)).toBe("list")
    // 10,000 apps in a workspace of 10,000: 100 pages against 10,000 reads
    expect(chooseReading("auto", 10_000, 10_000)).toBe("list")
    // 3 apps declared in a workspace of 5,000: 3 reads against 50 pages
    expect(chooseReading("auto", 3, 5_000)).toBe("per_app")
    // before any sweep: a fleet under one page is read per app, a larger one swept (which measures the workspace)
    expect(chooseReading("auto", 99, null)).toBe("per_app")
    expect(chooseReading("auto", 100, null)).toBe("list")
    expect(chooseReading("auto", 0, 10)).toBe("per_app")
    // discovery sweeps anyway: auto diffs from the sweep, per_app still reads every app
    expect(chooseReading("auto", 3, 5_000, true)).toBe("list")
    expect(chooseReading("per_app", 3, 5_000, true)).toBe("per_app")
  })
})

describe("observeAndDiff with the workspace sweep, against the simulator", () => {
  it.scopedLive("list: one request per page, and the same plan as per-app reads", () =>
    Effect.gen(function*() {
      const sim = yield* start({}, [...fleet, { name: "stray", cvms: [{ name: "stray-0", status: "stopped" }] }])
      const apps = declared(250)
      const perApp = yield* observe(sim, apps, { fetch: "per_app" })
      expect(drain(sim).filter((r) => r !== "list")).toHaveLength(250)
      const listed = yield* observe(sim, apps, { fetch: "list" })
      expect(drain(sim)).toEqual(["list", "list", "list"])
      expect(verdicts(listed)).toEqual(verdicts(perApp))
      expect(listed.apps.every((a) => a.sync === "in_sync")).toBe(true)
      expect(listed.reading).toEqual({ fetch: "list", workspaceSize: 251, sweepComplete: true })
      // auto, knowing the workspace: 3 pages beat 250 reads
      yield* observe(sim, apps, { fetch: "auto", previous: listed })
      expect(drain(sim)).toEqual(["list", "list", "list"])
    }))

  it.scopedLive("a page failing after retries: its declared apps are read one by one, the plan is unchanged", () =>
    Effect.gen(function*() {
      const sim = yield* start({ list: { pages: [{ page: 2, faults: { statuses: [500, 500] } }] } })
      const apps = declared(250)
      const listed = yield* observe(sim, apps, { fetch: "list" })
      const requests = drain(sim)
      expect(requests.filter((r) => r === "list")).toHaveLength(4)
      expect(requests.filter((r) => r !== "list").sort()).toEqual(ids.slice(100, 200).sort())
      expect(listed.reading?.sweepComplete).toBe(false)
      const perApp = yield* observe(sim, apps, { fetch: "per_app" })
      expect(verdicts(listed)).toEqual(verdicts(perApp))
    }))

  it.scopedLive("a malformed page and a 429 page: fall back, then retry after Retry-After", () =>
    Effect.gen(function*() {
      const sim = yield* start({
        list: { pages: [{ page: 1, faults: { rate_limit: { count: 1, retry_after: 1 } } }, { page: 3, faults: { malformed: true } }] }
      })
      const listed = yield* observe(sim, declared(250), { fetch: "list" })
      const requests = drain(sim)
      // page 1 twice (429, then 200), pages 2 and 3 once; page 3's 50 apps read on their own
      expect(requests.filter((r) => r === "list")).toHaveLength(4)
      expect(requests.filter((r) => r !== "list").sort()).toEqual(ids.slice(200).sort())
      expect(listed.apps.every((a) => a.sync === "in_sync")).toBe(true)
    }))

  it.scopedLive("pages that shift between reads never make a declared app missing, and duplicates count once", () =>
    Effect.gen(function*() {
      // after page 1, app 3 leaves: app 100 slides onto page 1, unseen; after page 2, a new app arrives first in the
      // listing: app 200 is pushed from page 2 onto page 3 and read twice
      const sim = yield* start({
        list: { shifts: [{ after_page: 1, remove: ids[3] ?? "" }, { after_page: 2, add: { app_id: ADDED, name: "late", cvms: [{ name: "late-0" }] } }] }
      })
      const apps = declared(250)
      const listed = yield* observe(sim, apps, { fetch: "list" })
      const requests = drain(sim)
      // only app 100 was not in the sweep: read on its own, found, in sync; app 3 was seen on page 1 before it left
      expect(requests.filter((r) => r !== "list")).toEqual([ids[100]])
      expect(listed.apps.filter((a) => a.sync !== "in_sync")).toEqual([])
      expect(listed.apps.filter((a) => a.drifts.some((d) => d.kind === "missing_app"))).toEqual([])
      expect(listed.apps).toHaveLength(250)
    }))

  it.scopedLive("a declared app truly gone is missing_app only after its own GET answered 404", () =>
    Effect.gen(function*() {
      const sim = yield* start({}, fleet.slice(0, 120))
      const apps = [...declared(120), desiredApp({ appId: ADDED, name: "gone" })]
      const listed = yield* observe(sim, apps, { fetch: "list" })
      const gone = sim.state.requests.list().filter((r) => r.path === `/api/v1/apps/${ADDED}`)
      expect(gone.map((r) => r.status)).toEqual([404])
      expect(listed.apps.find((a) => a.appId === ADDED)?.drifts.map((d) => d.kind)).toEqual(["missing_app"])
      expect(listed.apps.filter((a) => a.sync !== "in_sync").map((a) => a.appId)).toEqual([ADDED])
    }))

  it.scopedLive("an entry in the minimal shape is confirmed by its own read", () =>
    Effect.gen(function*() {
      const sim = yield* start({}, [{ app_id: ADDED, name: "ghost", shape: "minimal" }, ...fleet.slice(0, 2)])
      const apps = [...declared(2), desiredApp({ appId: ADDED, name: "ghost" })]
      const listed = yield* observe(sim, apps, { fetch: "list" })
      expect(drain(sim)).toEqual(["list", ADDED])
      expect(listed.apps.find((a) => a.appId === ADDED)).toMatchObject({ sync: "unknown", error: { reason: "incomplete" } })
    }))
})

describe("unmanaged apps (discovery.unmanaged: report)", () => {
  const extra = [
    { app_id: "aa00000000000000000000000000000000000001", name: "stray", cvms: [{ name: "stray-0" }, { name: "stray-1", status: "stopped" }] },
    { app_id: "aa00000000000000000000000000000000000002", name: "sandbox-tom", cvms: [{ name: "s-0" }] },
    { app_id: "aa00000000000000000000000000000000000003", name: "ignored-by-id", cvms: [] }
  ]

  it.scopedLive("reports what runs undeclared and not ignored, in the plan JSON, the text plan and the exit code", () =>
    Effect.gen(function*() {
      const sim = yield* start({}, [...fleet.slice(0, 5), ...extra])
      const discovery = { unmanaged: "report" as const, ignore: ["sandbox-*", "aa00000000000000000000000000000000000003"] }
      // per_app reads for the declared apps, and a sweep for discovery
      const snapshot = yield* observe(sim, declared(5), { fetch: "per_app", discovery })
      expect(drain(sim).filter((r) => r === "list")).toHaveLength(1)
      expect(snapshot.unmanaged).toEqual([{
        appId: "aa00000000000000000000000000000000000001",
        name: "stray",
        replicas: 2,
        statuses: { running: 1, stopped: 1 }
      }])
      const plan = planJson(snapshot)
      expect(plan.format_version).toBe("1.1")
      expect(plan.summary).toMatchObject({ apps: 5, in_sync: 5, unmanaged: 1 })
      expect(plan.unmanaged).toEqual([{ app_id: "aa00000000000000000000000000000000000001", name: "stray", replicas: 2, statuses: { running: 1, stopped: 1 } }])
      expect(planExitCode(plan.summary)).toBe(2)
      const text = planText(snapshot, { color: false })
      expect(text).toContain(`+ app "stray" (aa00000000000000000000000000000000000001) exists but is not declared (2 cvms: 1 running, 1 stopped)`)
      expect(text).toContain("5 in sync, 0 out of sync, 0 unknown, 0 drifts (5 apps), 1 unmanaged.")
    }))

  it.scopedLive("ignore by default: no sweep, no unmanaged key, exit 0", () =>
    Effect.gen(function*() {
      const sim = yield* start({}, [...fleet.slice(0, 5), ...extra])
      const snapshot = yield* observe(sim, declared(5), { fetch: "per_app" })
      expect(drain(sim).filter((r) => r === "list")).toEqual([])
      const plan = planJson(snapshot)
      expect(plan).not.toHaveProperty("unmanaged")
      expect(plan.summary).not.toHaveProperty("unmanaged")
      expect(planExitCode(plan.summary)).toBe(0)
    }))

  it.scopedLive("a page that fails keeps last cycle's unmanaged apps it may hold, instead of resolving them", () =>
    Effect.gen(function*() {
      const sim = yield* start({}, [...fleet.slice(0, 150), ...extra])
      const discovery = { unmanaged: "report" as const, ignore: [] }
      const first = yield* observe(sim, declared(150), { fetch: "list", discovery })
      expect(first.unmanaged?.map((u) => u.name)).toEqual(["ignored-by-id", "sandbox-tom", "stray"])
      yield* Effect.promise(() =>
        fetch(`${sim.url}/_sim/list`, { method: "PUT", body: JSON.stringify({ pages: [{ page: 2, faults: { statuses: [503, 503] } }] }) })
      )
      const second = yield* observe(sim, declared(150), { fetch: "list", discovery, previous: first })
      expect(second.reading?.sweepComplete).toBe(false)
      expect(second.unmanaged?.map((u) => u.name).sort()).toEqual(["ignored-by-id", "sandbox-tom", "stray"])
    }))

  it("shards split the unmanaged apps without overlap, and declared apps of other shards are not unmanaged", () => {
    const listed = Array.from({ length: 60 }, (_, i) => ({ appId: i.toString(16).padStart(40, "b"), name: `app-${i}`, app: null }))
    const declaredIds = new Set(listed.slice(0, 10).map((a) => a.appId))
    const settings = { unmanaged: "report" as const, ignore: [] }
    const shards = [0, 1, 2].map((index) => unmanagedApps(listed, declaredIds, settings, { index, total: 3 }))
    const all = shards.flat().map((u) => u.appId)
    expect(new Set(all).size).toBe(all.length)
    expect(all.sort()).toEqual(listed.slice(10).map((a) => a.appId).sort())
    for (const [index, found] of shards.entries()) {
      expect(found.length).toBeGreaterThan(0)
      expect(found.every((u) => shardOf(u.appId, 3) === index)).toBe(true)
    }
  })

  it("ignore: ids in any accepted form, globs over names and ids", () => {
    const ignored = ignoreMatcher(["aa00000000000000000000000000000000000001", "sandbox-*", "team-?", "0bad*"])
    expect(ignored("aa00000000000000000000000000000000000001", "anything")).toBe(true)
    expect(ignored("cc00000000000000000000000000000000000001", "sandbox-tom")).toBe(true)
    expect(ignored("cc00000000000000000000000000000000000001", "team-a")).toBe(true)
    expect(ignored("cc00000000000000000000000000000000000001", "team-ab")).toBe(false)
    expect(ignored("0bad000000000000000000000000000000000001", "prod")).toBe(true)
    expect(ignored("cc00000000000000000000000000000000000001", "my-sandbox-tom")).toBe(false)
    // regular-expression characters in a glob are literal
    expect(ignoreMatcher(["a.b"])("cc00000000000000000000000000000000000001", "axb")).toBe(false)
  })
})

describe("PhalaAppUnmanaged in the built-in engine", () => {
  const stray = { appId: "aa00000000000000000000000000000000000001", name: "stray", replicas: 1, statuses: { running: 1 } }
  const at = (minutes: number, unmanaged: ReadonlyArray<typeof stray> | undefined): Snapshot => ({
    generatedAt: new Date(minutes * 60_000),
    apps: [],
    ...(unmanaged === undefined ? {} : { unmanaged })
  })

  it("is pending, fires after 10 minutes like the Prometheus rule, and resolves once the app is no longer reported", () => {
    let alerts: ReadonlyMap<string, Alert> = new Map()
    const step = (minutes: number, unmanaged: ReadonlyArray<typeof stray> | undefined) => {
      const result = evaluate({ snapshot: at(minutes, unmanaged), previous: alerts, now: minutes * 60_000, externalUrl: "http://d:9477" })
      alerts = result.alerts
      return result
    }
    step(0, [stray])
    expect([...alerts.values()].map((a) => [a.name, a.state])).toEqual([["PhalaAppUnmanaged", "pending"]])
    expect(step(9, [stray]).events).toEqual([])
    const fired = step(10, [stray])
    expect(fired.events.map((e) => e.kind)).toEqual(["firing"])
    expect(fired.events[0]?.alert.labels).toEqual({ alertname: "PhalaAppUnmanaged", severity: "warning", app_id: stray.appId, app_name: "stray" })
    expect(fired.events[0]?.alert.annotations["description"]).toBe(
      "App stray (aa00000000000000000000000000000000000001) exists in the workspace but the desired state does not declare it: declare it (phala-drift import) or add it to discovery.ignore."
    )
    expect(step(11, []).events.map((e) => e.kind)).toEqual(["resolved"])
  })
})

describe("unmanaged apps on the status page", () => {
  const page = (snapshot: Snapshot) =>
    renderStatusPage({ snapshot, alerts: [], alertingEnabled: false, now: new Date(60_000), refreshSeconds: 10, version: "test" })
  const hostile = { appId: "aa00000000000000000000000000000000000009", name: `<script>alert(1)</script>`, replicas: null, statuses: {} }

  it("lists them (names escaped) with a count, and says so when there are none", () => {
    const stray = { appId: "aa00000000000000000000000000000000000001", name: "stray", replicas: 2, statuses: { running: 1, stopped: 1 } }
    const shown = page({ generatedAt: new Date(0), apps: [], unmanaged: [stray, hostile] })
    expect(shown).toContain(`<h2 id="unmanaged-heading">Unmanaged apps</h2>`)
    expect(shown).toContain("2 apps exist in the workspace but are not declared")
    expect(shown).toContain("1 running, 1 stopped")
    expect(shown).toContain("<dt>Unmanaged</dt><dd>2</dd>")
    expect(shown).toContain("&lt;script&gt;alert(1)&lt;/script&gt;")
    expect(shown).not.toContain("<script>alert(1)</script>")
    expect(page({ generatedAt: new Date(0), apps: [], unmanaged: [] })).toContain("Every app of the workspace is declared or ignored.")
  })

  it("shows no section without discovery, and caps a long list", () => {
    expect(page({ generatedAt: new Date(0), apps: [] })).not.toContain("Unmanaged apps")
    const many = Array.from({ length: 130 }, (_, i) => ({ ...hostile, appId: i.toString(16).padStart(40, "c"), name: `u-${i}` }))
    const shown = page({ generatedAt: new Date(0), apps: [], unmanaged: many })
    expect(shown.split(`class="row-warn"`).length - 1).toBe(100)
    expect(shown).toContain("and 30 more apps")
  })
})

describe("a re-read between cycles keeps what the cycle's sweep found", () => {
  it.effect("unmanaged apps and the workspace size survive LatestSnapshot.publishApps", () =>
    Effect.gen(function*() {
      const latest = yield* LatestSnapshot
      const app = desiredApp()
      const stray = { appId: "aa00000000000000000000000000000000000001", name: "stray", replicas: 1, statuses: { running: 1 } }
      const cycle: Snapshot = {
        generatedAt: new Date(0),
        apps: [diffApp(app, Observation.notFound)],
        unmanaged: [stray],
        reading: { fetch: "list", workspaceSize: 2, sweepComplete: true }
      }
      yield* latest.publish(cycle)
      const after = yield* latest.publishApps([diffApp(app, Observation.notFound)], 1000, true)
      expect(Option.getOrThrow(after)).toMatchObject({ unmanaged: [stray], reading: { workspaceSize: 2 } })
    }).pipe(Effect.provide(LatestSnapshot.Default)))
})
