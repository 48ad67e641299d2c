// The status page at fleet size, in process: N apps × 2 CVMs through the real diff, 1 % out of sync.
//   - prepare (sort, count) once per snapshot, the first render of page 1, then what each request of pages 1-3
//     costs once they are rendered (p50/p99): as served (bytes, the apps section kept encoded) and as a string encoded
//     per request (the route before)
//   - the same during an outage (every app unknown) with an alert per app
//   - the whole fleet on one page, as the page was rendered before pagination (every request)
//   - filtered views (sync state + label, a search): the filter runs once per snapshot and filter, then cached
// Every case carries the daemon's app timeline, so rows show "since …" and "observed …" as served.
// Usage: npm run build && node bench/status-page.js [N]   (default 10000). Writes bench/results/status-page.json.
import { join } from "node:path"
import { appIdOf, snapshot } from "./fleet.js"
import { DIST, machine, percentile, round, saveResults } from "./lib.js"

const { noFilter, prepareFleet, renderStatusPage, renderStatusPageBytes } = await import(join(DIST, "Http", "StatusPage.js"))
const { advanceTimeline } = await import(join(DIST, "Runtime", "AppTimeline.js"))

const n = Number(process.argv[2] ?? 10_000)
const now = new Date(1_000_000 + 12_000)

const alertOf = (i) => ({
  fingerprint: `f${i}`,
  name: "PhalaAppUnobservable",
  labels: { alertname: "PhalaAppUnobservable", severity: "warning", app_id: appIdOf(i), app_name: `bench-app-${i}` },
  annotations: { summary: `bench-app-${i} could not be observed` },
  state: i % 3 === 0 ? "pending" : "firing",
  activeAt: now.getTime() - 600_000 + i,
  firedAt: i % 3 === 0 ? null : now.getTime() - 300_000 + i,
  lastActiveAt: now.getTime(),
  resolvedAt: null,
  silenced: false,
  announced: true
})

const measure = (label, snap, alerts, pageSize, filter = noFilter) => {
  const { moments } = advanceTimeline(null, snap)
  const t0 = performance.now()
  const fleet = prepareFleet(snap, pageSize, moments)
  const prepareMs = performance.now() - t0
  const input = (page) => ({ snapshot: snap, moments, alerts, alertingEnabled: alerts.length > 0, now, refreshSeconds: 30, version: "bench", page, fleet, filter })
  const t1 = performance.now()
  const first = renderStatusPage(input(1))
  const firstMs = performance.now() - t1
  renderStatusPage(input(2))
  renderStatusPage(input(3))
  // a request as the route serves it: the bytes, the apps section kept encoded; and as it did before, the whole
  // page rendered to a string and encoded
  const encoder = new TextEncoder()
  const timed = (serve) => {
    const times = []
    for (let k = 0; k < 200; k++) {
      const t = performance.now()
      serve(input(1 + (k % 3)))
      times.push(performance.now() - t)
    }
    return times.sort((a, b) => a - b)
  }
  const asString = timed((page) => encoder.encode(renderStatusPage(page)))
  const times = timed(renderStatusPageBytes)
  const row = {
    case: label,
    apps: snap.apps.length,
    listed: fleet.listing(filter).apps,
    alerts: alerts.length,
    page_size: fleet.pageSize,
    page_kib: round(Buffer.byteLength(first) / 1024, 1),
    prepare_ms: round(prepareMs, 1),
    first_render_ms: round(firstMs, 1),
    // what a request cost when nothing was kept between requests (the page before this change did this every time)
    uncached_request_ms: round(prepareMs + firstMs, 1),
    request_p50_ms: round(percentile(times, 50), 2),
    request_p99_ms: round(percentile(times, 99), 2),
    string_request_p50_ms: round(percentile(asString, 50), 2),
    string_request_p99_ms: round(percentile(asString, 99), 2)
  }
  console.error("[bench status-page]", JSON.stringify(row))
  return row
}

const healthy = snapshot(n, 1000, (i) => (i % 100 === 7 ? "stopped" : "in_sync"))
const outage = snapshot(n, 1000, () => "unknown")
const rows = [
  measure("1 % out of sync, no alerts", healthy, [], undefined),
  measure("outage: all unknown, an alert per app", outage, Array.from({ length: n }, (_, i) => alertOf(i)), undefined),
  // pagination off: every app on one page, rendered per request, as before
  measure("one page with every app (before)", healthy, [], n),
  measure("filtered: needs attention, label team=team-7", healthy, [], undefined, { ...noFilter, sync: "problems", label: "team=team-7" }),
  measure("filtered: search \"app-01\" (name or id)", healthy, [], undefined, { ...noFilter, q: "app-01" })
]
const results = { machine: machine(), started_at: new Date().toISOString(), rows }
saveResults("status-page.json", results)
console.log(JSON.stringify(results, null, 2))
