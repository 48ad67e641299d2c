import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { readFileSync } from "node:fs"
import { FetchFailure, Observation } from "../../src/Domain/Observation.js"
import { diffApp } from "../../src/Diff.js"
import { Metrics } from "../../src/Metrics/Metrics.js"
import { APP_ID, desiredApp, observedApp, twoReplicas } from "../support/builders.js"

const Dashboard = Schema.Struct({
  uid: Schema.String,
  title: Schema.String,
  panels: Schema.Array(Schema.Struct({
    title: Schema.String,
    targets: Schema.Array(Schema.Struct({ expr: Schema.String }))
  }))
})

const dashboard = Schema.decodeUnknownSync(Dashboard)(
  JSON.parse(readFileSync(new URL("../../deploy/grafana/phala-drift.json", import.meta.url), "utf8"))
)

describe("Grafana dashboard", () => {
  it("has the panels the issue asks for", () => {
    const titles = dashboard.panels.map((p) => p.title)
    for (const wanted of ["Apps out of sync", "CVM status over time", "API latency", "Poll cycle duration"]) {
      expect(titles).toContain(wanted)
    }
    expect(titles.some((t) => t.startsWith("API errors"))).toBe(true)
  })

  it.effect("queries only metrics the daemon exposes", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      const snapshot = (apps: ReturnType<typeof diffApp>[]) => ({ generatedAt: new Date(1000), apps })
      yield* metrics.record(snapshot([diffApp(desiredApp(), Observation.found(observedApp(twoReplicas())))]), { durationSeconds: 1, finishedAt: new Date(1000) })
      yield* metrics.record(snapshot([diffApp(desiredApp(), Observation.failed(new FetchFailure({ appId: APP_ID, reason: "server", status: 500, message: "x" })))]), { durationSeconds: 1, finishedAt: new Date(2000) })
      yield* metrics.apiAttempt({ code: "200", seconds: 0.2 })
      yield* metrics.refresh
      const exposed = new Set(
        (yield* metrics.exposition).text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split(/[{ ]/)[0] ?? "")
      )
      const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\b(phala_[a-z_]+)/g)].map((m) => m[1] ?? ""))))
      expect(used.size).toBeGreaterThan(8)
      expect([...used].filter((name) => !exposed.has(name))).toEqual([])
    }).pipe(Effect.provide(Metrics.Default)))
})
