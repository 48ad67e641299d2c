import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { readFileSync } from "node:fs"
import { FetchFailure, Observation } from "../../src/Core/Domain/Observation.js"
import { diffApp } from "../../src/Core/Diff.js"
import { Metrics } from "../../src/Metrics/Metrics.js"
import { DaemonEvent, Events } from "../../src/Runtime/Events.js"
import { APP_ID, desiredApp, observedApp, twoReplicas } from "../support/builders.js"
import { servedText } from "../support/served.js"

const Link = Schema.Struct({ title: Schema.String, url: Schema.String })
const Override = Schema.Struct({
  matcher: Schema.Struct({ id: Schema.String, options: Schema.String }),
  properties: Schema.Array(Schema.Struct({ id: Schema.String, value: Schema.Unknown }))
})
const Transformation = Schema.Struct({ id: Schema.String, options: Schema.Record({ key: Schema.String, value: Schema.Unknown }) })
const Organize = Schema.Struct({
  excludeByName: Schema.Record({ key: Schema.String, value: Schema.Boolean }),
  indexByName: Schema.Record({ key: Schema.String, value: Schema.Number }),
  renameByName: Schema.Record({ key: Schema.String, value: Schema.String })
})
const Panel = Schema.Struct({
  title: Schema.String,
  type: Schema.String,
  description: Schema.optional(Schema.String),
  targets: Schema.Array(Schema.Struct({
    refId: Schema.String,
    expr: Schema.String,
    instant: Schema.optional(Schema.Boolean),
    format: Schema.optional(Schema.String)
  })),
  transformations: Schema.optional(Schema.Array(Transformation)),
  fieldConfig: Schema.Struct({
    defaults: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
    overrides: Schema.Array(Override)
  })
})
const Variable = Schema.Struct({
  name: Schema.String,
  type: Schema.String,
  query: Schema.optional(Schema.String),
  multi: Schema.optional(Schema.Boolean),
  includeAll: Schema.optional(Schema.Boolean)
})
const Dashboard = Schema.Struct({
  uid: Schema.String,
  title: Schema.String,
  links: Schema.Array(Link),
  templating: Schema.Struct({ list: Schema.Array(Variable) }),
  panels: Schema.Array(Panel)
})

const dashboard = Schema.decodeUnknownSync(Dashboard)(
  JSON.parse(readFileSync(new URL("../../deploy/grafana/phala-drift.json", import.meta.url), "utf8"))
)
const targets = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, ...t })))
const metricNames = (expr: string) => [...expr.matchAll(/\b(phala_[a-z_]+)/g)].map((m) => m[1] ?? "")
const tables = dashboard.panels.filter((p) => p.type === "table")
const variable = (name: string) => dashboard.templating.list.find((v) => v.name === name)
const linkUrls = (panel: Schema.Schema.Type<typeof Panel>) =>
  panel.fieldConfig.overrides.flatMap((o) => o.properties.filter((p) => p.id === "links").flatMap((p) => Schema.decodeUnknownSync(Schema.Array(Link))(p.value)))

/** Metric names documented in docs/metrics.md (the first column of its tables). */
const documented = new Set(
  [...readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8").matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1] ?? "")
)

describe("Grafana dashboard", () => {
  it("has the panels the issue asks for", () => {
    const titles = dashboard.panels.map((p) => p.title)
    for (const wanted of ["Apps out of sync", "CVM status over time", "API latency", "Poll cycle duration", "Data age (oldest shard)", "Shards"]) {
      expect(titles).toContain(wanted)
    }
    expect(titles.some((t) => t.startsWith("API errors"))).toBe(true)
  })

  it.effect("queries only metrics the daemon exposes", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      const snapshot = (apps: ReturnType<typeof diffApp>[]) => ({ generatedAt: new Date(1000), apps })
      yield* metrics.record(snapshot([diffApp(desiredApp(), Observation.found(observedApp(twoReplicas())))]), { startedAt: 0, phases: { observe: 900, alerts: 10 } })
      yield* metrics.record(snapshot([diffApp(desiredApp(), Observation.failed(new FetchFailure({ appId: APP_ID, reason: "server", status: 500, message: "x" })))]), { startedAt: 1000, phases: { observe: 900, alerts: 10 } })
      yield* (yield* Events).publish(DaemonEvent.ApiAttempt({ code: "200", seconds: 0.2, endpoint: "app" }))
      const exposed = new Set(
        (yield* servedText(metrics)).split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split(/[{ ]/)[0] ?? "")
      )
      const used = new Set(targets.flatMap((t) => metricNames(t.expr)))
      expect(used.size).toBeGreaterThan(8)
      expect([...used].filter((name) => !exposed.has(name))).toEqual([])
    }).pipe(Effect.provide(Metrics.DefaultWithoutDependencies.pipe(Layer.provideMerge(Events.Default)))))

  it("queries only metrics documented in docs/metrics.md", () => {
    expect(documented.size).toBeGreaterThan(20)
    const base = (name: string) => name.replace(/_(bucket|sum|count)$/, "")
    const undocumented = targets.flatMap((t) => metricNames(t.expr)).filter((name) => !documented.has(name) && !documented.has(base(name)))
    expect([...new Set(undocumented)]).toEqual([])
  })

  it("selects shards with an instance variable, and every series selector honours job and instance", () => {
    expect(variable("job")).toMatchObject({ type: "query", multi: true, includeAll: true })
    expect(variable("instance")).toMatchObject({ type: "query", multi: true, includeAll: true })
    expect(variable("instance")?.query).toMatch(/^label_values\(phala_drift_build_info\{job=~"\$job"\}, instance\)$/)
    const unfiltered = targets.flatMap((t) =>
      [...t.expr.matchAll(/\b(phala_[a-z_]+)(\{[^}]*\})?/g)]
        .filter((m) => !(m[2] ?? "").includes(`job=~"$job"`) || !(m[2] ?? "").includes(`instance=~"$instance"`))
        .map((m) => `${t.panel}: ${m[0]}`))
    expect(unfiltered).toEqual([])
  })

  it("rates use $__rate_interval (a fixed window shows gaps or smooths away changes at other zoom levels)", () => {
    const windows = targets.flatMap((t) => [...t.expr.matchAll(/\b(?:rate|irate|increase)\([^[]*\[([^\]]+)\]/g)].map((m) => `${t.panel}: ${m[1] ?? ""}`))
    expect(windows.length).toBeGreaterThan(5)
    expect(windows.filter((w) => !w.endsWith(": $__rate_interval"))).toEqual([])
  })

  it("data age is the oldest shard's (min over the last cycle timestamps) and its description says why", () => {
    const panel = dashboard.panels.find((p) => p.title === "Data age (oldest shard)")
    expect(panel?.targets.map((t) => t.expr)).toEqual([
      `time() - min(last_over_time(phala_drift_last_poll_success_timestamp_seconds{job=~"$job",instance=~"$instance"}[1h]))`
    ])
    expect(panel?.fieldConfig.defaults["unit"]).toBe("s")
    expect(panel?.description).toMatch(/min, not max/)
    expect(panel?.description).toMatch(/last_over_time/)
  })

  it("tables query instant values as tables, merge several queries into one row per object and name their columns", () => {
    expect(tables.length).toBeGreaterThanOrEqual(3)
    for (const table of tables) {
      for (const t of table.targets) expect({ panel: table.title, instant: t.instant, format: t.format }).toEqual({ panel: table.title, instant: true, format: "table" })
      const ids = (table.transformations ?? []).map((t) => t.id)
      if (table.targets.length > 1) expect(ids[0], table.title).toBe("merge")
      const organize = (table.transformations ?? []).find((t) => t.id === "organize")
      expect(organize, table.title).toBeDefined()
      const options = Schema.decodeUnknownSync(Organize)(organize?.options)
      expect(options.excludeByName["Time"], table.title).toBe(true)
      // every value column is named: "Value #A"... for merged queries, "Value" (hidden) for a single one
      const values = table.targets.length > 1 ? table.targets.map((t) => `Value #${t.refId}`) : ["Value"]
      for (const v of values) expect(options.renameByName[v] !== undefined || options.excludeByName[v] === true, `${table.title}: ${v}`).toBe(true)
      // overrides match columns by their new names
      const columns = new Set([...Object.keys(options.indexByName).map((k) => options.renameByName[k] ?? k)])
      for (const o of table.fieldConfig.overrides) expect(columns.has(o.matcher.options), `${table.title}: ${o.matcher.options}`).toBe(true)
    }
  })

  it("links to the status page: the dashboard's links and every app row", () => {
    expect(variable("status_page")).toMatchObject({ type: "textbox" })
    expect(variable("status_page")?.query).toMatch(/^https?:\/\//)
    expect(dashboard.links.map((l) => l.url)).toContain("${status_page}/")
    const appTables = tables.filter((t) => t.targets.some((q) => q.expr.includes("app_id")))
    expect(appTables.length).toBeGreaterThanOrEqual(2)
    for (const table of appTables) {
      expect(linkUrls(table).map((l) => l.url), table.title).toContain("${status_page}/?app=${__data.fields.app_id}#app-${__data.fields.app_id}")
    }
  })
})
