import { describe, expect, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { crc32, gunzipSync } from "node:zlib"
import { Effect } from "effect"
import type { DesiredApp } from "../../src/Core/Domain/App.js"
import { FetchFailure, fetchFailureReasons, Observation } from "../../src/Core/Domain/Observation.js"
import type { AppReport, Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { families } from "../../src/Metrics/AppSeries.js"
import { crc32Combine, deflatePiece, deflatePieceSync, inflatePieceSync } from "../../src/Metrics/GzipPieces.js"
import { Metrics } from "../../src/Metrics/Metrics.js"
import { scrapeBody } from "../../src/Metrics/ScrapeBody.js"
import { deflatedChunks, MetricStore } from "../../src/Metrics/Store.js"
import { bodyBytes } from "../../src/Runtime/MetricsView.js"
import { escapeHelp, escapeLabelValue, formatValue, prefixedLabelNames } from "../../src/Metrics/TextFormat.js"
import { cvm, desiredApp, observedApp, twoReplicas } from "../support/builders.js"
import { promClientObjectState } from "../support/prom-object-state.js"
import { servedGzipText, servedText } from "../support/served.js"
import { familiesMatching, parseExposition } from "../support/exposition.js"
import { appIdOf, fleetApp, fleetSnapshot } from "../support/fleet.js"

const HOSTILE = "evil \"quoted\" back\\slash\nnewline ünïcødé 🚀 \\n \"} 1\n# HELP x"
/** Object-state families the prom-client oracle does not know (fed by the workspace sweep). */
const newFamilies = new Set(["phala_app_unmanaged"])

/** A tool's stdout, run without blocking this process (the server under test lives in it). */
const run = (command: string, args: ReadonlyArray<string>, input?: Buffer) =>
  Effect.promise(() =>
    new Promise<{ readonly status: number | null; readonly stdout: Buffer }>((resolve, reject) => {
      const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] })
      const out: Array<Buffer> = []
      child.stdout.on("data", (d: Buffer) => out.push(d))
      child.on("error", reject)
      child.on("close", (status) => resolve({ status, stdout: Buffer.concat(out) }))
      child.stdin.end(input)
    })
  )

/** The store's text, its pieces inflated here; the scrape's own reading of them is checked against it. */
const text = (store: MetricStore): string =>
  Buffer.concat(store.current.families.flatMap((f) => f.pieces).map(inflatePieceSync)).toString("utf8")

const gzipText = async (store: MetricStore, telemetry = ""): Promise<string> =>
  gunzipSync(await bodyBytes(scrapeBody(store.current, telemetry, true))).toString("utf8")

const published = async (snapshot: Snapshot, store = new MetricStore({ groupSize: 3 })) => {
  await store.applySnapshot(snapshot)
  await store.publish()
  return store
}

/** Sample lines of one family. */
const samples = (exposition: string, name: string): ReadonlyArray<string> =>
  exposition.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))

const app = (overrides: Partial<DesiredApp>, observation: Observation): AppReport =>
  diffApp(desiredApp({ replicas: { min: 1, max: 1 }, ...overrides }), observation)

const hostileApp = (): AppReport =>
  app(
    { appId: appIdOf(900), name: null, labels: { team: HOSTILE, "bad-key": "x", bad_key: "y" }, severity: HOSTILE },
    Observation.found(observedApp([cvm({ name: HOSTILE, vmUuid: HOSTILE, region: "a\\b", node: "\"", kmsType: "\n" })], { appId: appIdOf(900), name: HOSTILE }))
  )

/** Two CVMs, one on another node than declared (attribute drift on one CVM), with a user label and a severity. */
const attributeApp = (): AppReport =>
  app(
    { appId: appIdOf(9), name: "nodes", replicas: { min: 2, max: 2 }, cvm: { node: "prod6" }, labels: { team: "payments" }, severity: "critical" },
    Observation.found(observedApp(twoReplicas(), { appId: appIdOf(9) }))
  )

/** Snapshots that walk every rule of the old Metrics: drift, unknown with and without history, removal, renames. */
const sequence = (): ReadonlyArray<Snapshot> => {
  const twins = [cvm({ status: "running" }), cvm({ status: "stopped" })]
  const failure = (i: number, reason: (typeof fetchFailureReasons)[number]) =>
    app({ appId: appIdOf(i), name: `failing-${reason}` }, Observation.failed(new FetchFailure({ appId: appIdOf(i), reason, status: null, message: "x" })))
  return [
    fleetSnapshot(1000, [
      fleetApp(1),
      fleetApp(2, "stopped"),
      fleetApp(3, "missing"),
      fleetApp(4, "extra"),
      fleetApp(5, "unknown"),
      hostileApp(),
      app({ appId: appIdOf(6), name: "unbounded", replicas: { min: 1, max: null } }, Observation.found(observedApp([cvm({ status: "Hibernating" })], { appId: appIdOf(6) }))),
      app({ appId: appIdOf(7), name: "twins", replicas: { min: 2, max: 2 } }, Observation.found(observedApp(twins, { appId: appIdOf(7) }))),
      attributeApp()
    ]),
    fleetSnapshot(1030, [
      fleetApp(1),
      fleetApp(2, "unknown"),
      fleetApp(3, "unknown"),
      fleetApp(4),
      fleetApp(5, "stopped"),
      hostileApp(),
      fleetApp(6, "in_sync", "renamed"),
      app({ appId: appIdOf(8), name: "new" }, Observation.found(observedApp([], { appId: appIdOf(8), replicas: 3 }))),
      app(
        { appId: appIdOf(9), name: "nodes", cvm: { node: "prod6" }, labels: { team: "payments", tier: "1" } },
        Observation.failed(new FetchFailure({ appId: appIdOf(9), reason: "timeout", status: null, message: "x" }))
      )
    ]),
    fleetSnapshot(1060, [
      fleetApp(2, "unknown"),
      fleetApp(3, "missing"),
      ...fetchFailureReasons.map((reason, i) => failure(100 + i, reason))
    ]),
    fleetSnapshot(1090, [])
  ]
}

describe("MetricStore", () => {
  it.effect("serves the same object-state samples, HELP and TYPE as prom-client renders them, snapshot after snapshot", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      const oracle = promClientObjectState()
      const objectState = (name: string) => name.startsWith("phala_app_") || name.startsWith("phala_cvm_")
      let served = ""
      for (const snapshot of sequence()) {
        yield* metrics.record(snapshot, { startedAt: 0, phases: { observe: 900, alerts: 10 } })
        const expected = familiesMatching(parseExposition(yield* Effect.promise(() => oracle(snapshot))), () => true)
        expect(Object.keys(expected).length).toBe(14)
        served = yield* servedText(metrics)
        const ours = (text: string) => familiesMatching(parseExposition(text), (name) => objectState(name) && !newFamilies.has(name))
        expect(ours(served)).toEqual(expected)
        expect(ours(yield* servedGzipText(metrics))).toEqual(expected)
      }
      expect(samples(served, "phala_app_up")).toEqual([])
      expect(served).toMatch(/^process_cpu_user_seconds_total /m)
    }).pipe(Effect.provide(Metrics.Default)))

  it.effect("matches the golden exposition of every family", () =>
    Effect.gen(function*() {
      const store = new MetricStore({ groupSize: 2 })
      const [first, second] = sequence()
      yield* Effect.promise(() => published(first ?? fleetSnapshot(0, []), store))
      yield* Effect.promise(() => published(second ?? fleetSnapshot(0, []), store))
      store.setUnmanaged([{ appId: appIdOf(500), name: "stray" }, { appId: appIdOf(501), name: HOSTILE }])
      yield* Effect.promise(() => store.publish())
      const exposition = text(store)
      const dir = fileURLToPath(new URL("../golden/metrics/", import.meta.url))
      mkdirSync(dir, { recursive: true })
      expect(families.length).toBe(15)
      for (const family of families) {
        const lines = exposition.split("\n").filter((l) =>
          l.startsWith(`# HELP ${family.name} `) || l.startsWith(`# TYPE ${family.name} `) || samples(l, family.name).length > 0
        )
        const actual = `${lines.join("\n")}\n`
        const path = `${dir}${family.name}.prom`
        if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(path, actual)
        expect(actual, family.name).toBe(readFileSync(path, "utf8"))
      }
    }))

  it.effect("escapes hostile names and passes promtool check metrics, plain and gzip", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(() => published(fleetSnapshot(1, [hostileApp(), fleetApp(1)])))
      store.setUnmanaged([{ appId: appIdOf(501), name: HOSTILE }])
      yield* Effect.promise(() => store.publish())
      const exposition = text(store)
      const escaped = "evil \\\"quoted\\\" back\\\\slash\\nnewline ünïcødé 🚀 \\\\n \\\"} 1\\n# HELP x"
      const ids = `app_id="${appIdOf(900)}",app_name="${escaped}"`
      expect(exposition).toContain(`phala_app_up{${ids}} 1\n`)
      expect(exposition).toContain(`phala_app_info{${ids},severity="${escaped}"} 1\n`)
      expect(exposition).toContain(`phala_app_labels{${ids},label_bad_key_conflict1="x",label_bad_key_conflict2="y",label_team="${escaped}"} 1\n`)
      expect(exposition).toContain(`phala_cvm_info{${ids},vm_uuid="${escaped}",cvm_name="${escaped}",instance_type="tdx.large",region="a\\\\b",base_image="dstack-0.5.5",kms_type="\\n",node="\\""} 1\n`)
      expect(exposition).toContain(`phala_app_unmanaged{app_id="${appIdOf(501)}",app_name="${escaped}"} 1\n`)
      // every line is a comment or one sample: no value ever broke out of its quotes
      for (const line of exposition.split("\n").slice(0, -1)) expect(line).toMatch(/^(# (HELP|TYPE) [a-z_]+ .*|[a-z_]+\{.*\} (0|1|\+Inf|[0-9.e+]+))$/)
      const parsed = parseExposition(exposition)
      expect([...(parsed.get("phala_cvm_info")?.samples.keys() ?? [])].some((k) => k.includes(JSON.stringify(HOSTILE)))).toBe(true)
      const telemetry = "# HELP phala_drift_apps Number of apps.\n# TYPE phala_drift_apps gauge\nphala_drift_apps 2\n"
      const plainBody = yield* Effect.promise(() => bodyBytes(scrapeBody(store.current, telemetry, false)))
      const gzipBody = gunzipSync(yield* Effect.promise(() => bodyBytes(scrapeBody(store.current, telemetry, true))))
      for (const body of [plainBody, gzipBody]) {
        expect(body.toString("utf8")).toBe(exposition + telemetry)
        const check = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" })
        expect(check.stderr + check.stdout).toBe("")
        expect(check.status).toBe(0)
      }
    }))

  it("documents every family it emits in docs/metrics.md, and only those object-state families", () => {
    const docs = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8")
    const rows = docs.split("\n").flatMap((line) => /^\| `(phala_(?:app|cvm)_[a-z_]+)` \|/.exec(line)?.[1] ?? [])
    expect([...rows].sort()).toEqual(families.map((f) => f.name).sort())
  })

  it("escapes label values and help text exactly as the text format says", () => {
    expect(escapeLabelValue("a\\b\"c\nd\re\t")).toBe("a\\\\b\\\"c\\nd\re\t")
    expect(escapeLabelValue("plain")).toBe("plain")
    expect(escapeHelp("a\\b\"c\nd")).toBe("a\\\\b\"c\\nd")
    expect([Infinity, -Infinity, NaN, 0, 1.5, 1e21, 1732800000.25].map(formatValue)).toEqual(["+Inf", "-Inf", "NaN", "0", "1.5", "1e+21", "1732800000.25"])
  })

  it("names labels kube-state-metrics style, resolving sanitisation collisions the same way whatever the key order", () => {
    const labels = { "a.b": "1", a_b: "2", "a-b": "3", a_b_conflict1: "4", team: "t", "9x": "n", "": "e" }
    const reversed = Object.fromEntries(Object.entries(labels).reverse())
    const names = prefixedLabelNames("label_", labels)
    expect(names).toEqual(prefixedLabelNames("label_", reversed))
    expect(names).toEqual([
      ["label_", "e"],
      ["label_9x", "n"],
      ["label_a_b_conflict2", "3"],
      ["label_a_b_conflict3", "1"],
      ["label_a_b_conflict4", "2"],
      ["label_a_b_conflict1", "4"],
      ["label_team", "t"]
    ])
    expect(new Set(names.map(([n]) => n)).size).toBe(names.length)
  })

  it.effect("re-renders only the families that changed, of the app that changed", () =>
    Effect.gen(function*() {
      const apps = Array.from({ length: 100 }, (_, i) => fleetApp(i))
      const store = yield* Effect.promise(() => published(fleetSnapshot(1000, apps), new MetricStore({ groupSize: 16 })))
      const full = store.stats
      expect(full.segmentsRendered).toBe(100 * families.length)
      const before = text(store)

      // the same reports again, same time: nothing to do, nothing changes
      yield* Effect.promise(() => published(fleetSnapshot(1000, apps.map((a) => ({ ...a }))), store))
      expect(store.stats.segmentsRendered).toBe(full.segmentsRendered)
      expect(store.stats.piecesRebuilt).toBe(full.piecesRebuilt)
      expect(text(store)).toBe(before)

      // one app's CVM stops: its sync, drift, CVM status, health and drift families, and only its group's pieces
      const previous = store.current
      store.upsert(fleetApp(42, "stopped"), 1000_000)
      yield* Effect.promise(() => store.publish())
      const remade = families.map((f, i) => (store.current.families[i] === previous.families[i] ? null : f.name)).filter((n) => n !== null)
      expect(remade).toEqual(["phala_app_sync_status", "phala_app_drift", "phala_cvm_status", "phala_cvm_health", "phala_cvm_drift"])
      expect(store.stats.segmentsRendered - full.segmentsRendered).toBe(5)
      expect(store.stats.piecesRebuilt - full.piecesRebuilt).toBe(5)
      const after = text(store)
      const changed = (a: string, b: string) => {
        const lines = new Set(b.split("\n"))
        return a.split("\n").filter((l) => !lines.has(l))
      }
      const gone = changed(before, after)
      const added = changed(after, before)
      expect(gone.length).toBeGreaterThan(0)
      for (const line of [...gone, ...added]) expect(line).toContain(`app_id="${appIdOf(42)}"`)
      expect(added).toContain(`phala_app_sync_status{app_id="${appIdOf(42)}",app_name="app-00042",status="out_of_sync"} 1`)
      expect(after.length).toBe(before.length)

      // a new cycle moves every last-success timestamp: one family of every app, nothing else
      const rendered = store.stats.segmentsRendered
      yield* Effect.promise(() => published(fleetSnapshot(1030, apps.map((a, i) => (i === 42 ? fleetApp(42, "stopped") : a))), store))
      expect(store.stats.segmentsRendered - rendered).toBe(100)
      expect(samples(text(store), "phala_app_last_success_timestamp_seconds").every((l) => l.endsWith(" 1030"))).toBe(true)
    }))

  it.effect("keeps an unknown app's drift, replica and CVM series at their last observed values, with up 0 and the reason", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(() => published(fleetSnapshot(1000, [fleetApp(1, "stopped")])))
      const held = (exposition: string) =>
        ["phala_app_drift", "phala_app_replicas", "phala_cvm_status", "phala_cvm_health", "phala_cvm_info"].flatMap((n) => samples(exposition, n))
      const before = text(store)
      yield* Effect.promise(() => published(fleetSnapshot(1030, [fleetApp(1, "unknown")]), store))
      const during = text(store)
      const ids = `app_id="${appIdOf(1)}",app_name="app-00001"`
      expect(held(during)).toEqual(held(before))
      expect(samples(during, "phala_cvm_status")).toContain(`phala_cvm_status{${ids},vm_uuid="00000001-0000-4000-8000-000000000001",cvm_name="app-00001-1",status="stopped"} 1`)
      expect(samples(during, "phala_app_up")).toEqual([`phala_app_up{${ids}} 0`])
      expect(samples(during, "phala_app_fetch_failure")).toEqual([`phala_app_fetch_failure{${ids},reason="timeout"} 1`])
      expect(samples(during, "phala_app_last_success_timestamp_seconds")).toEqual([`phala_app_last_success_timestamp_seconds{${ids}} 1000`])
      expect(samples(during, "phala_app_sync_status")).toContain(`phala_app_sync_status{${ids},status="unknown"} 1`)

      // observed again: the fetch failure goes, the new truth replaces the held values
      yield* Effect.promise(() => published(fleetSnapshot(1060, [fleetApp(1)]), store))
      const after = text(store)
      expect(samples(after, "phala_app_fetch_failure")).toEqual([])
      expect(samples(after, "phala_app_drift")).toContain(`phala_app_drift{${ids},kind="status"} 0`)
      expect(samples(after, "phala_app_last_success_timestamp_seconds")).toEqual([`phala_app_last_success_timestamp_seconds{${ids}} 1060`])

      // unknown from the start: up 0, drift all 0, no replica or CVM series
      const fresh = text(yield* Effect.promise(() => published(fleetSnapshot(1, [fleetApp(2, "unknown")]))))
      expect(samples(fresh, "phala_app_drift").every((l) => l.endsWith(" 0"))).toBe(true)
      expect([...samples(fresh, "phala_app_replicas"), ...samples(fresh, "phala_cvm_status"), ...samples(fresh, "phala_app_last_success_timestamp_seconds")]).toEqual([])
    }))

  it.effect("removes apps, CVMs and unmanaged apps that are gone, and takes them back", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(() => published(fleetSnapshot(1000, [1, 2, 3, 4, 5].map((i) => fleetApp(i, "extra")))))
      store.setUnmanaged([{ appId: appIdOf(50), name: "stray-a" }, { appId: appIdOf(51), name: "stray-b" }])
      yield* Effect.promise(() => store.publish())
      store.remove(appIdOf(2))
      store.upsert(fleetApp(3), 1030_000)
      store.setUnmanaged([{ appId: appIdOf(51), name: "stray-b" }])
      yield* Effect.promise(() => store.publish())
      const exposition = text(store)
      expect(exposition).not.toContain(appIdOf(2))
      expect(exposition).not.toContain(appIdOf(50))
      expect(exposition).not.toContain(`app-00003-2`)
      expect(samples(exposition, "phala_cvm_info").filter((l) => l.includes(appIdOf(3)))).toHaveLength(2)
      expect(samples(exposition, "phala_app_unmanaged")).toEqual([`phala_app_unmanaged{app_id="${appIdOf(51)}",app_name="stray-b"} 1`])
      expect(store.stats).toMatchObject({ apps: 4, unmanaged: 1 })

      store.upsert(fleetApp(2), 1060_000)
      yield* Effect.promise(() => store.publish())
      expect(samples(text(store), "phala_app_up").filter((l) => l.includes(appIdOf(2)))).toHaveLength(1)
      yield* Effect.promise(() => published(fleetSnapshot(1090, []), store))
      store.setUnmanaged([])
      yield* Effect.promise(() => store.publish())
      const empty = text(store)
      expect(empty.split("\n").filter((l) => l !== "" && !l.startsWith("#"))).toEqual([])
      expect(empty.split("\n").filter((l) => l.startsWith("# TYPE "))).toHaveLength(families.length)
    }))

  it.effect("gives the same exposition as a store built from scratch after any churn of upserts and removals", () =>
    Effect.gen(function*() {
      let seed = 7
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31
        return seed % n
      }
      const variants = ["in_sync", "stopped", "missing", "unknown", "extra"] as const
      const store = new MetricStore({ groupSize: 4 })
      const operations: Array<(s: MetricStore) => void> = []
      const live = new Set<number>()
      for (let round = 0; round < 30; round++) {
        for (let k = 0; k < 12; k++) {
          const i = random(40)
          const report = fleetApp(i, variants[random(variants.length)] ?? "in_sync")
          const remove = random(3) === 0
          const operation = remove ? (s: MetricStore) => s.remove(appIdOf(i)) : (s: MetricStore) => s.upsert(report, (5000 + round) * 1000)
          operation(store)
          operations.push(operation)
          if (remove) live.delete(i)
          else live.add(i)
        }
        if (random(2) === 0) yield* Effect.promise(() => store.publish())
      }
      yield* Effect.promise(() => store.publish())
      // the same history in one group and one publish: held values and timestamps must come out the same
      const reference = new MetricStore({ groupSize: 1000 })
      for (const operation of operations) operation(reference)
      yield* Effect.promise(() => reference.publish())
      const ours = parseExposition(text(store))
      expect(familiesMatching(ours, () => true)).toEqual(familiesMatching(parseExposition(text(reference)), () => true))
      expect(ours.get("phala_app_up")?.samples.size).toBe(live.size)
      expect(ours.get("phala_cvm_status")?.samples.size).toBeGreaterThan(0)
      expect(yield* Effect.promise(() => gzipText(store))).toBe(text(store))
      expect((yield* Effect.promise(() => bodyBytes(scrapeBody(store.current, "", false)))).toString("utf8")).toBe(text(store))
      expect(store.current.plainLength).toBe(Buffer.byteLength(text(store)))
    }))

  it.effect("serves one ordinary gzip stream that curl and gunzip read, with the telemetry appended", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(() => published(fleetSnapshot(1000, Array.from({ length: 40 }, (_, i) => fleetApp(i, i % 3 === 0 ? "stopped" : "in_sync")))))
      const telemetry = "# HELP phala_drift_apps Number of apps.\n# TYPE phala_drift_apps gauge\nphala_drift_apps 40\n"
      const server = createServer((req, res) => {
        const body = scrapeBody(store.current, telemetry, (req.headers["accept-encoding"] ?? "").includes("gzip"))
        res.writeHead(200, {
          "content-type": body.contentType,
          "content-length": body.byteLength,
          ...(body.contentEncoding === null ? {} : { "content-encoding": body.contentEncoding })
        })
        void (async () => {
          for await (const chunk of body.chunks()) res.write(chunk)
          res.end()
        })()
      })
      yield* Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)))
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`
      try {
        const expected = text(store) + telemetry
        const curl = yield* run("curl", ["-sS", "--compressed", "-D", "-", url])
        const [head = "", body = ""] = curl.stdout.toString("utf8").split("\r\n\r\n")
        expect(head.toLowerCase()).toContain("content-encoding: gzip")
        expect(body).toBe(expected)
        const raw = yield* run("curl", ["-sS", "-H", "accept-encoding: gzip", url])
        const gunzip = yield* run("gunzip", ["-c"], raw.stdout)
        expect(gunzip.status).toBe(0)
        expect(gunzip.stdout.toString("utf8")).toBe(expected)
        expect(yield* Effect.promise(() => fetch(url, { headers: { "accept-encoding": "identity" } }).then((r) => r.text()))).toBe(expected)
      } finally {
        server.close()
      }
    }))

  it("combines CRC-32s as if computed over the concatenation", () => {
    let seed = 3
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => (seed = (seed * 48271) % 2147483647) & 0xff))
    for (const [a, b] of [[0, 0], [0, 5], [5, 0], [1, 1], [100, 3000], [70000, 1], [3, 1 << 20]] as const) {
      const x = bytes(a)
      const y = bytes(b)
      expect(crc32Combine(crc32(x), crc32(y), y.byteLength)).toBe(crc32(Buffer.concat([x, y])))
    }
  })

  it.effect("publishes one after another; an upsert made during a publish shows in the next", () =>
    Effect.gen(function*() {
      const store = new MetricStore({ groupSize: 8 })
      yield* Effect.promise(() => store.applySnapshot(fleetSnapshot(1000, Array.from({ length: 50 }, (_, i) => fleetApp(i)))))
      const first = store.publish()
      store.upsert(fleetApp(7, "stopped"), 1000_000)
      const second = store.publish()
      yield* Effect.promise(() => first)
      yield* Effect.promise(() => second)
      expect(store.current.generation).toBe(2)
      expect(samples(text(store), "phala_app_sync_status")).toContain(`phala_app_sync_status{app_id="${appIdOf(7)}",app_name="app-00007",status="out_of_sync"} 1`)
      expect(samples(text(store), "phala_app_up")).toHaveLength(50)
    }))

  // zlib's result is a view of its output chunk, and a pooled copy shares a slab with other buffers: either way a small
  // piece that outlives the publish would keep far more memory alive than its own bytes (seen on Node 24 as RSS that
  // grew with every publish)
  it.effect("keeps every compressed piece in memory of its own size, across publishes", () =>
    Effect.gen(function*() {
      const owns = (b: Buffer) => b.byteOffset === 0 && b.buffer.byteLength === b.byteLength
      const line = (i: number) => `phala_cvm_status{app_id="${i}"} 1\n`
      for (const size of [1, 30, 3_000]) {
        const plain = Buffer.from(Array.from({ length: size }, (_, i) => line(i * 7919)).join(""))
        expect(owns(deflatePieceSync(plain).deflated), `sync, ${plain.byteLength} bytes`).toBe(true)
        expect(owns((yield* Effect.promise(() => deflatePiece(plain))).deflated), `thread pool, ${plain.byteLength} bytes`).toBe(true)
      }
      const apps = Array.from({ length: 40 }, (_, i) => fleetApp(i))
      const store = yield* Effect.promise(() => published(fleetSnapshot(1000, apps), new MetricStore({ groupSize: 4 })))
      for (let round = 1; round <= 3; round++) {
        store.upsert(fleetApp(round * 5, "stopped"), 1000_000 + round)
        yield* Effect.promise(() => store.publish())
      }
      const chunks = deflatedChunks(store.current).filter((b) => b.byteLength > 0)
      expect(chunks.length).toBeGreaterThan(100)
      expect(chunks.filter((b) => !owns(b))).toEqual([])
    }))

  it.effect("lets an exposition go once newer ones replace it (nothing chains one publish to the next)", () =>
    Effect.gen(function*() {
      setFlagsFromString("--expose-gc")
      const gc = runInNewContext("gc") as () => void
      const apps = Array.from({ length: 20 }, (_, i) => fleetApp(i))
      const store = yield* Effect.promise(() => published(fleetSnapshot(1000, apps), new MetricStore({ groupSize: 4 })))
      // what a scrape would have asked of it: the combined CRCs
      store.current.crc()
      const firstGeneration = store.current.generation
      const first = new WeakRef(store.current)
      // a piece of the family every cycle remakes (each app's time of last success)
      const remade = families.findIndex((f) => f.name === "phala_app_last_success_timestamp_seconds")
      // no local holds the piece: a generator's frame keeps its locals alive
      const firstPiece = new WeakRef(store.current.families[remade]?.pieces[1] ?? { length: 0 })
      expect(firstPiece.deref()?.length).toBeGreaterThan(0)
      for (let cycle = 1; cycle <= 5; cycle++) {
        yield* Effect.promise(() => published(fleetSnapshot(1000 + cycle * 30, apps), store))
        store.current.crc()
      }
      for (let i = 0; i < 3 && (first.deref() !== undefined || firstPiece.deref() !== undefined); i++) {
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
        gc()
      }
      expect(store.current.generation).toBeGreaterThanOrEqual(firstGeneration + 5)
      expect(first.deref()).toBeUndefined()
      expect(firstPiece.deref()).toBeUndefined()
    }))
})
