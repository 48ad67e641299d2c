import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { readFileSync } from "node:fs"
import { gunzipSync } from "node:zlib"
import { FetchFailure, fetchFailureReasons, Observation } from "../../src/Core/Domain/Observation.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { Metrics } from "../../src/Metrics/Metrics.js"
import { DaemonEvent, Events } from "../../src/Runtime/Events.js"
import type { ScrapeBody } from "../../src/Runtime/MetricsView.js"
import { APP_ID, cvm, desiredApp, observedApp } from "../support/builders.js"
import { servedText } from "../support/served.js"

/** Metrics with the event hub they listen to, so a test can publish events. */
const metricsLayer = Metrics.DefaultWithoutDependencies.pipe(Layer.provideMerge(Events.Default))

/** A scrape's body and its chunks as the route writes them. */
const chunksOf = (scrape: Effect.Effect<ScrapeBody>) =>
  Effect.flatMap(scrape, (body) =>
    Effect.promise(async () => {
      const chunks: Array<Uint8Array> = []
      for await (const chunk of body.chunks()) chunks.push(chunk)
      return { body, chunks }
    }))

const publish = (event: DaemonEvent) => Effect.flatMap(Events, (events) => events.publish(event))

/** Records a cycle that took half a second and ended at `seconds` (the test clock is set there). */
const recordAt = (metrics: Metrics, fleet: Snapshot, seconds: number) =>
  TestClock.setTime(seconds * 1000).pipe(
    Effect.zipRight(metrics.record(fleet, { startedAt: seconds * 1000 - 500, phases: { observe: 400, alerts: 50 } }))
  )

const snapshot = (seconds: number, apps: Snapshot["apps"]): Snapshot => ({ generatedAt: new Date(seconds * 1000), apps })

/** Sample lines of one metric, without HELP/TYPE. */
const samples = (text: string, name: string): ReadonlyArray<string> =>
  text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))

const driftedFleet = () =>
  snapshot(1000, [
    diffApp(desiredApp(), Observation.found(observedApp([cvm(), cvm({ vmUuid: "u2", name: "replica-1", status: "stopped" })])))
  ])

describe("Metrics", () => {
  it.effect("emits every state of a state set as 0/1", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      yield* recordAt(metrics, driftedFleet(), 1000)
      const text = yield* servedText(metrics)
      const sync = samples(text, "phala_app_sync_status")
      expect(sync).toHaveLength(3)
      expect(sync).toContain(`phala_app_sync_status{app_id="${APP_ID}",app_name="payments-api",status="out_of_sync"} 1`)
      expect(sync).toContain(`phala_app_sync_status{app_id="${APP_ID}",app_name="payments-api",status="in_sync"} 0`)
      expect(samples(text, "phala_app_drift")).toHaveLength(4)
      expect(text).toContain(`phala_app_drift{app_id="${APP_ID}",app_name="payments-api",kind="status"} 1`)
      expect(text).toContain(`phala_app_drift{app_id="${APP_ID}",app_name="payments-api",kind="replicas"} 0`)
      const replicaStatus = samples(text, "phala_cvm_status").filter((l) => l.includes(`vm_uuid="u2"`))
      expect(replicaStatus).toHaveLength(12)
      expect(replicaStatus.filter((l) => l.endsWith(" 1"))).toEqual([
        `phala_cvm_status{app_id="${APP_ID}",app_name="payments-api",vm_uuid="u2",cvm_name="replica-1",status="stopped"} 1`
      ])
      expect(text).toContain(`phala_cvm_health{app_id="${APP_ID}",app_name="payments-api",vm_uuid="u2",cvm_name="replica-1",health="degraded"} 1`)
      expect(text).toContain(`phala_app_replicas{app_id="${APP_ID}",app_name="payments-api"} 2`)
      expect(text).toContain(`phala_app_last_success_timestamp_seconds{app_id="${APP_ID}",app_name="payments-api"} 1000`)
      expect(text).toMatch(/^phala_drift_build_info\{version="\d+\.\d+\.\d+"\} 1$/m)
      expect(text).toContain("phala_drift_last_poll_success_timestamp_seconds 1000")
    }).pipe(Effect.provide(metricsLayer)))

  it.effect("maps unheard-of statuses to other", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      yield* recordAt(metrics, snapshot(1, [diffApp(desiredApp({ replicas: { min: 1, max: 1 } }), Observation.found(observedApp([cvm({ status: "Hibernating" })])))]), 1)
      const text = yield* servedText(metrics)
      expect(samples(text, "phala_cvm_status").filter((l) => l.endsWith(" 1"))).toEqual([
        `phala_cvm_status{app_id="${APP_ID}",app_name="payments-api",vm_uuid="c48d9363-21b2-4f4a-87d9-3496623f020d",cvm_name="payments-api",status="other"} 1`
      ])
    }).pipe(Effect.provide(metricsLayer)))

  it.effect("removes series of CVMs and apps that are gone", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      yield* recordAt(metrics, driftedFleet(), 1000)
      yield* recordAt(metrics, snapshot(1030, [diffApp(desiredApp(), Observation.found(observedApp([cvm()])))]), 1030)
      const after = (yield* servedText(metrics))
      expect(after).not.toContain(`vm_uuid="u2"`)
      expect(after).toContain(`phala_app_replicas{app_id="${APP_ID}",app_name="payments-api"} 1`)
      yield* recordAt(metrics, snapshot(1060, []), 1060)
      const empty = (yield* servedText(metrics))
      expect(empty).not.toContain(APP_ID)
      expect(empty).toContain("phala_drift_apps 0")
    }).pipe(Effect.provide(metricsLayer)))

  it.effect("keeps the last observed drift while the app is unknown", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      yield* recordAt(metrics, driftedFleet(), 1000)
      const failure = new FetchFailure({ appId: APP_ID, reason: "timeout", status: null, message: "timed out" })
      yield* recordAt(metrics, snapshot(1030, [diffApp(desiredApp(), Observation.failed(failure))]), 1030)
      const text = yield* servedText(metrics)
      expect(text).toContain(`phala_app_up{app_id="${APP_ID}",app_name="payments-api"} 0`)
      expect(text).toContain(`phala_app_sync_status{app_id="${APP_ID}",app_name="payments-api",status="unknown"} 1`)
      expect(text).toContain(`phala_app_drift{app_id="${APP_ID}",app_name="payments-api",kind="status"} 1`)
      expect(text).toContain(`phala_app_fetch_failure{app_id="${APP_ID}",app_name="payments-api",reason="timeout"} 1`)
      expect(text).toContain(`phala_app_last_success_timestamp_seconds{app_id="${APP_ID}",app_name="payments-api"} 1000`)
      expect(text).toContain(`phala_cvm_status{app_id="${APP_ID}",app_name="payments-api",vm_uuid="u2",cvm_name="replica-1",status="stopped"} 1`)
    }).pipe(Effect.provide(metricsLayer)))

  it.effect("escapes label values whatever the API sends", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      const hostile = "evil \"quoted\" back\\slash\nnewline ünïcødé 🚀"
      yield* recordAt(metrics, snapshot(1, [
        diffApp(desiredApp({ name: null, replicas: { min: 1, max: 1 } }), Observation.found(observedApp([cvm({ name: hostile, region: "a\\b" })], { name: hostile })))
      ]), 1)
      const text = yield* servedText(metrics)
      const escaped = "evil \\\"quoted\\\" back\\\\slash\\nnewline ünïcødé 🚀"
      expect(text).toContain(`phala_app_up{app_id="${APP_ID}",app_name="${escaped}"} 1`)
      expect(text).toContain(`region="a\\\\b"`)
      for (const line of text.split("\n").filter((l) => l.startsWith("phala_"))) {
        expect(line).toMatch(/^[a-z_]+(\{.*\})? [-+0-9.eInf]+$/)
      }
    }).pipe(Effect.provide(metricsLayer)))

  it.effect("serves the object state as of the last cycle, the self-telemetry as of the scrape, plain or gzip", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      yield* recordAt(metrics, driftedFleet(), 1000)
      const first = yield* chunksOf(metrics.scrape(true))
      yield* publish(DaemonEvent.ApiAttempt({ code: "200", seconds: 0.1, endpoint: "app" }))
      const second = yield* chunksOf(metrics.scrape(true))
      // the cached object-state bytes are served as they are, no re-render between cycles (the gzip header is 0)
      expect(second.chunks[1]).toBe(first.chunks[1])
      const plain = yield* chunksOf(metrics.scrape(false))
      expect(plain.body.contentType).toBe("text/plain; version=0.0.4; charset=utf-8")
      expect(plain.body.contentEncoding).toBeNull()
      expect(plain.body.byteLength).toBe(Buffer.concat(plain.chunks).byteLength)
      const text = Buffer.concat(plain.chunks).toString("utf8")
      expect(text).toContain(`phala_drift_api_requests_total{code="200",endpoint="app"} 1`)
      expect(gunzipSync(Buffer.concat(first.chunks)).toString("utf8")).not.toContain(`phala_drift_api_requests_total{code="200",endpoint="app"} 1`)
      const gzip = second
      expect(gzip.body.contentEncoding).toBe("gzip")
      expect(gzip.body.byteLength).toBe(Buffer.concat(gzip.chunks).byteLength)
      const unzipped = gunzipSync(Buffer.concat(gzip.chunks)).toString("utf8")
      const objectState = (t: string) => t.split("\n").filter((l) => l.startsWith("phala_app_") || l.startsWith("phala_cvm_"))
      expect(objectState(unzipped)).toEqual(objectState(text))
      expect(unzipped).toContain(`phala_drift_api_requests_total{code="200",endpoint="app"} 1`)
    }).pipe(Effect.provide(metricsLayer)))

  it.effect("scrapes that arrive together share one rendering of the self-telemetry", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      yield* recordAt(metrics, driftedFleet(), 1000)
      const [a, b] = yield* Effect.all([chunksOf(metrics.scrape(false)), chunksOf(metrics.scrape(false))], { concurrency: 2 })
      expect(a?.chunks.at(-1)).toBe(b?.chunks.at(-1))
      yield* publish(DaemonEvent.TickSkipped())
      const later = yield* chunksOf(metrics.scrape(false))
      expect(later.chunks.at(-1)).not.toBe(a?.chunks.at(-1))
      expect(Buffer.from(later.chunks.at(-1) ?? []).toString("utf8")).toMatch(/^phala_drift_poll_ticks_skipped_total 1$/m)
    }).pipe(Effect.provide(metricsLayer)))

  it.effect("labels phala_app_fetch_failure with every reason of the closed set, in the help and in docs/metrics.md", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      const docs = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8")
      const row = docs.split("\n").find((line) => line.startsWith("| `phala_app_fetch_failure` |")) ?? ""
      const help = (text: string) => text.split("\n").find((line) => line.startsWith("# HELP phala_app_fetch_failure ")) ?? ""
      expect(fetchFailureReasons).toContain("incomplete")
      expect(fetchFailureReasons).toContain("internal")
      for (const reason of fetchFailureReasons) {
        const failure = new FetchFailure({ appId: APP_ID, reason, status: null, message: "x" })
        yield* recordAt(metrics, snapshot(1000, [diffApp(desiredApp(), Observation.failed(failure))]), 1000)
        const text = yield* servedText(metrics)
        expect(samples(text, "phala_app_fetch_failure")).toEqual([
          `phala_app_fetch_failure{app_id="${APP_ID}",app_name="payments-api",reason="${reason}"} 1`
        ])
        expect(help(text)).toMatch(new RegExp(`[(, ]${reason}[,)]`))
        expect(row).toContain(`\`${reason}\``)
      }
    }).pipe(Effect.provide(metricsLayer)))

  it.effect("documents every exposed metric in docs/metrics.md", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      yield* recordAt(metrics, driftedFleet(), 1000)
      yield* recordAt(metrics, snapshot(1030, [diffApp(desiredApp(), Observation.failed(new FetchFailure({ appId: APP_ID, reason: "auth", status: 401, message: "x" })))]), 1030)
      yield* publish(DaemonEvent.ApiAttempt({ code: "200", seconds: 0.1, endpoint: "app" }))
      yield* publish(DaemonEvent.ConfigLoaded({ success: true, at: 0 }))
      yield* publish(DaemonEvent.TickSkipped())
      yield* publish(DaemonEvent.AlertsEvaluated({ alerts: [{ alertname: "PhalaCvmStatusDrift", state: "firing" }], names: ["PhalaCvmStatusDrift"] }))
      yield* publish(DaemonEvent.NotificationAttempt({ receiver: "ops", result: "success" }))
      yield* publish(DaemonEvent.QueueLengths({ lengths: new Map([["ops", 0]]) }))
      yield* publish(DaemonEvent.StateWriteFailed())
      const text = yield* servedText(metrics)
      const names = new Set(text.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2] ?? ""))
      expect(names.size).toBeGreaterThan(30)
      const docs = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8")
      const undocumented = [...names].filter((name) => !docs.includes(`| \`${name}\` |`))
      expect(undocumented).toEqual([])
    }).pipe(Effect.provide(metricsLayer)))
})
