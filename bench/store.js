// In-process benchmark of the object-state metric store (src/Metrics/Store.ts) against today's prom-client Metrics,
// same synthetic fleet (N apps × 2 CVMs, real diff), same process, same run:
//   1. a full publish from empty, a cycle's publish (every last-success timestamp moves), one changed app's publish,
//      each with the event-loop delay max (perf_hooks.monitorEventLoopDelay) and the memory the store holds
//   2. Metrics.record of the same snapshot (the daemon's path: the store's publish), and the scrape bodies it serves
//   3. building a scrape body (plain, gzip) and serving it over loopback HTTP, p50/p99
//   4. group sizes: publish costs and gzip size against one gzip of the whole text
// Usage: npm run build && node --expose-gc bench/store.js [N ...]   (default 1000 10000). Writes bench/results/store.json.
import { createServer, get } from "node:http"
import { join } from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import { gzipSync } from "node:zlib"
import { snapshot, report } from "./fleet.js"
import { DIST, machine, mib, percentile, round, saveResults } from "./lib.js"

const { MetricStore, deflatedChunks } = await import(join(DIST, "Metrics", "Store.js"))
const { bodyBytes } = await import(join(DIST, "Runtime", "MetricsView.js"))
const { scrapeBody } = await import(join(DIST, "Metrics", "ScrapeBody.js"))
const { Metrics } = await import(join(DIST, "Metrics", "Metrics.js"))
const { Effect } = await import("effect")
const Prom = (await import("prom-client")).default

const log = (...args) => console.error("[bench store]", ...args)
const gc = globalThis.gc ?? (() => {})

const held = () => {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/** Wall ms and event-loop delay max (ms) of an async step. */
const timed = async (step) => {
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  const t = performance.now()
  const value = await step()
  const ms = performance.now() - t
  // one more turn so a stall at the very end is recorded
  await new Promise((r) => setTimeout(r, 5))
  h.disable()
  return { ms: round(ms, 1), loop_delay_max_ms: round(h.max / 1e6, 1), value }
}

/** The self-telemetry a daemon would append: prom-client's default metrics plus a few gauges. */
const telemetryRegistry = () => {
  const registry = new Prom.Registry()
  Prom.collectDefaultMetrics({ register: registry })
  new Prom.Histogram({ name: "phala_drift_poll_duration_seconds", help: "x", registers: [registry] }).observe(1)
  return registry
}

export const storePhase = async (n, groupSize) => {
  const first = snapshot(n, 1000, (i) => (i % 50 === 7 ? "stopped" : "in_sync"))
  const base = held()
  const store = new MetricStore({ groupSize })
  const full = await timed(async () => {
    await store.applySnapshot(first)
    await store.publish()
  })
  const exposition = store.current
  const deflatedBytes = deflatedChunks(exposition).reduce((s, b) => s + b.byteLength, 0)
  const memory = held() - base
  // the next cycle: same reports, new time → one family of every app changes
  const second = { ...first, generatedAt: new Date(1030_000) }
  const cycle = await timed(async () => {
    await store.applySnapshot(second)
    await store.publish()
  })
  const oneApp = []
  let loopMax = 0
  for (let k = 0; k < 21; k++) {
    const i = (k * 7919) % n
    const r = await timed(async () => {
      store.upsert(report(i, k % 2 === 0 ? "stopped" : "unknown"), 1060_000)
      await store.publish()
    })
    oneApp.push(r.ms)
    loopMax = Math.max(loopMax, r.loop_delay_max_ms)
  }
  oneApp.sort((a, b) => a - b)
  const row = {
    apps: n,
    group_size: groupSize,
    pieces: deflatedChunks(exposition).length,
    plain_mib: mib(exposition.plainLength),
    gzip_mib: mib(deflatedBytes),
    // heap + buffers the store adds (its pieces, entries, inputs), after GC; the reports it refers to are not counted
    held_mib: mib(memory),
    full_publish_ms: full.ms,
    full_loop_delay_max_ms: full.loop_delay_max_ms,
    cycle_publish_ms: cycle.ms,
    cycle_loop_delay_max_ms: cycle.loop_delay_max_ms,
    one_app_publish_p50_ms: percentile(oneApp, 50),
    one_app_publish_max_ms: oneApp[oneApp.length - 1],
    one_app_loop_delay_max_ms: loopMax
  }
  return { row, store }
}

export const metricsPhase = async (n, { cycle = true } = {}) => {
  const snap = snapshot(n, 1000, (i) => (i % 50 === 7 ? "stopped" : "in_sync"))
  const base = held()
  const run = (effect) => Effect.runPromise(effect)
  const metrics = await run(Effect.provide(Metrics, Metrics.Default))
  const r = await timed(() => run(metrics.record(snap, { startedAt: 0, phases: { observe: 1000, alerts: 0 } })))
  const second = cycle
    ? await timed(() => run(metrics.record({ ...snap, generatedAt: new Date(1030_000) }, { startedAt: 1029_000, phases: { observe: 1000, alerts: 0 } })))
    : { ms: null, loop_delay_max_ms: null }
  const plain = await run(metrics.scrape(false))
  const gzip = await run(metrics.scrape(true))
  const memory = held() - base
  return {
    apps: n,
    record_ms: r.ms,
    record_loop_delay_max_ms: r.loop_delay_max_ms,
    cycle_record_ms: second.ms,
    cycle_loop_delay_max_ms: second.loop_delay_max_ms,
    plain_mib: mib(plain.byteLength),
    gzip_mib: mib(gzip.byteLength),
    held_mib: mib(memory)
  }
}

export const scrapePhase = async (store) => {
  const registry = telemetryRegistry()
  const build = { plain: [], gzip: [] }
  for (let k = 0; k < 50; k++) {
    for (const gzip of [false, true]) {
      const t = performance.now()
      scrapeBody(store.current, await registry.metrics(), gzip)
      build[gzip ? "gzip" : "plain"].push(performance.now() - t)
    }
  }
  const server = createServer(async (req, res) => {
    const body = scrapeBody(store.current, await registry.metrics(), (req.headers["accept-encoding"] ?? "").includes("gzip"))
    res.writeHead(200, {
      "content-type": body.contentType,
      "content-length": body.byteLength,
      ...(body.contentEncoding === null ? {} : { "content-encoding": body.contentEncoding })
    })
    for await (const chunk of body.chunks()) if (!res.write(chunk)) await new Promise((r) => res.once("drain", r))
    res.end()
  })
  await new Promise((r) => server.listen(0, "127.0.0.1", r))
  const url = `http://127.0.0.1:${server.address().port}/metrics`
  const http = { plain: [], gzip: [] }
  for (let k = 0; k < 30; k++) {
    for (const gzip of [false, true]) {
      const t = performance.now()
      // raw bytes, no decompression: the client's work is not the server's
      await new Promise((resolve, reject) => {
        get(url, { headers: { "accept-encoding": gzip ? "gzip" : "identity" } }, (res) => {
          res.on("data", () => {})
          res.on("end", resolve)
        }).on("error", reject)
      })
      http[gzip ? "gzip" : "plain"].push(performance.now() - t)
    }
  }
  server.close()
  const stats = (xs) => {
    xs.sort((a, b) => a - b)
    return { p50_ms: round(percentile(xs, 50), 2), p99_ms: round(percentile(xs, 99), 2) }
  }
  return { body_plain: stats(build.plain), body_gzip: stats(build.gzip), http_plain: stats(http.plain), http_gzip: stats(http.gzip) }
}

const main = async () => {
  const fleets = process.argv.slice(2).map(Number).filter((n) => n > 0)
  const sizes = fleets.length > 0 ? fleets : [1000, 10_000]
  const results = { machine: machine(), started_at: new Date().toISOString(), load_avg: (await import("node:os")).loadavg().map((x) => round(x, 2)), store: [], metrics: [], scrape: null, group_sizes: [] }
  for (const n of sizes) {
    const { row, store } = await storePhase(n, 64)
    results.store.push(row)
    log("store", JSON.stringify(row))
    if (n === Math.max(...sizes)) {
      results.scrape = { apps: n, ...(await scrapePhase(store)) }
      log("scrape", JSON.stringify(results.scrape))
      // a one-shot gzip of the same text, as the old path does, for the size comparison
      results.scrape.one_shot_gzip_mib = mib(gzipSync(await bodyBytes(scrapeBody(store.current, "", false))).byteLength)
    }
  }
  const largest = Math.max(...sizes)
  for (const g of [32, 128]) {
    const { row } = await storePhase(largest, g)
    results.group_sizes.push(row)
    log("group size", JSON.stringify(row))
  }
  for (const n of sizes) {
    const row = await metricsPhase(n)
    results.metrics.push(row)
    log("metrics (prom-client)", JSON.stringify(row))
  }
  saveResults("store.json", results)
  console.log(JSON.stringify(results, null, 2))
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main()
