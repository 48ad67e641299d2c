// `node bench/webhook-latency.js` (after `npm run build`): event-to-publish latency of Phala Cloud webhooks (issue 12,
// DESIGN §14) at N = 1,000 and 10,000 apps × 2 CVMs. The API is the stand-in (bench/standin.js, its own process,
// WEBHOOK_BENCH_LATENCY_MS per answer, default 0: the daemon's own cost); the daemon is `node dist/main.js serve` with
// `server.phala_webhook` and a 1 h poll interval, so after the first cycle only events make it read anything.
// For each N, once /readyz answers:
//   sequential: EVENTS events, one at a time ~SPACING_MS apart, each for another declared app whose CVM the stand-in
//               was just told to stop (`cvm.stopped`, signed as Phala Cloud signs)
//   burst:      EVENTS more events, all sent at once (distinct apps again; the re-reads polled every 25 ms, not 2)
// Measured per event, client side: POST → response, and POST → the stand-in serving that app's re-read; daemon side:
// `phala_drift_webhook_publish_latency_seconds` (arrival → publish) as the difference of two scrapes, quantiles
// interpolated in its buckets as histogram_quantile does, mean from sum/count; event-loop delay max (loop-delay.mjs)
// over each phase. Env: WEBHOOK_BENCH_APPS (default "1000,10000"), WEBHOOK_BENCH_EVENTS (200), BENCH_BUDGET_S (900), BENCH_NODE_FLAGS
// (node flags for the daemon, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it).
// Writes bench/results/webhook-latency.json and prints a table.
import { createHmac } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import {
  API_KEY, freePort, HOST, machine, machineText, mib, percentile, procStats, ROOT, round, saveResults, sleep, spawnCli, startStandin, stopAll, tableRow, tempDir, waitFor
} from "./lib.js"

const FLEETS = (process.env.WEBHOOK_BENCH_APPS ?? "1000,10000").split(",").map(Number)
const EVENTS = Number(process.env.WEBHOOK_BENCH_EVENTS ?? 200)
const SPACING_MS = 50
const LATENCY_MS = Number(process.env.WEBHOOK_BENCH_LATENCY_MS ?? 0)
const SECRET = "whsec_bench_0123456789abcdef"
const HOOK = "/hooks/phala"
const HISTOGRAM = "phala_drift_webhook_publish_latency_seconds"

const started = Date.now()
const budgetMs = Number(process.env.BENCH_BUDGET_S ?? 900) * 1000
const remaining = () => Math.max(0, budgetMs - (Date.now() - started))
const limit = (ms) => Math.max(1000, Math.min(ms, remaining()))
const log = (...args) => console.error(`[webhook ${((Date.now() - started) / 1000).toFixed(0)}s]`, ...args)
const loopDelayPreload = pathToFileURL(join(ROOT, "bench", "loop-delay.mjs")).href

const results = {
  machine: machine(), started_at: new Date(started).toISOString(), load_avg_at_start: loadavg().map((x) => round(x, 2)),
  api_latency_ms: LATENCY_MS, events_per_phase: EVENTS, spacing_ms: SPACING_MS, fleets: []
}

/** A small seeded generator, so each run picks the same apps. */
const rng = (seed) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed / 2 ** 31
}


const startServe = async (standin) => {
  const dir = tempDir()
  const path = join(dir, "desired.yaml")
  const port = await freePort()
  writeFileSync(path, [
    "version: 1",
    "api:",
    `  url: ${standin.apiUrl}`,
    "  api_key: ${PHALA_CLOUD_API_KEY}",
    "  concurrency: 64",
    "  timeout: 30s",
    "  retries: 0",
    "poll:",
    "  interval: 1h",
    "server:",
    `  listen: ${HOST}:${port}`,
    "  phala_webhook:",
    `    path: ${HOOK}`,
    "    secret: ${PHALA_WEBHOOK_SECRET}",
    `state_dir: ${join(dir, "state")}`,
    "defaults:",
    "  replicas: 2",
    "apps:",
    ...standin.ids.map((id) => `  - app_id: ${id}`),
    ""
  ].join("\n"))
  const loopFile = join(dir, "loop-delay.jsonl")
  const since = Date.now()
  const proc = spawnCli(["serve", "--config", path], {
    PHALA_CLOUD_API_KEY: API_KEY,
    PHALA_WEBHOOK_SECRET: SECRET,
    LOOP_DELAY_FILE: loopFile,
    NODE_OPTIONS: `--import ${loopDelayPreload}`
  })
  const base = `http://${HOST}:${port}`
  await waitFor("daemon ready", async () => {
    if (proc.child.exitCode !== null) throw new Error(`serve exited: ${proc.stderr().slice(-500)}`)
    return (await fetch(`${base}/readyz`)).ok ? true : undefined
  }, limit(300_000), 100)
  return { proc, base, loopFile, ready_s: round((Date.now() - since) / 1000, 1) }
}

/** The latency histogram's cumulative buckets, sum and count from one scrape of /metrics. */
const histogram = async (daemon) => {
  const text = await (await fetch(`${daemon.base}/metrics`)).text()
  const buckets = []
  for (const m of text.matchAll(new RegExp(`^${HISTOGRAM}_bucket\\{le="([^"]+)"\\} (\\S+)$`, "gm"))) {
    buckets.push({ le: m[1] === "+Inf" ? Infinity : Number(m[1]), count: Number(m[2]) })
  }
  const value = (suffix) => Number(text.match(new RegExp(`^${HISTOGRAM}_${suffix} (\\S+)$`, "m"))?.[1] ?? 0)
  const accepted = [...text.matchAll(/^phala_drift_webhook_events_total\{[^}]*result="accepted"[^}]*\} (\S+)$/gm)]
    .reduce((n, m) => n + Number(m[1]), 0)
  return { buckets, sum: value("sum"), count: value("count"), accepted, bytes: text.length }
}

/** histogram_quantile over the difference of two scrapes: linear within the bucket, the last finite bound past it. */
const quantile = (before, after, q) => {
  const deltas = after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before.buckets[i]?.count ?? 0) }))
  const total = deltas.at(-1)?.count ?? 0
  if (total === 0) return null
  const rank = q * total
  let lower = 0
  let below = 0
  for (const b of deltas) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lower
      return lower + (b.le - lower) * ((rank - below) / Math.max(1, b.count - below))
    }
    lower = b.le
    below = b.count
  }
  return lower
}

const signed = (body) => {
  const ts = String(Math.floor(Date.now() / 1000))
  return {
    "content-type": "application/json",
    "x-webhook-id": JSON.parse(body).id,
    "x-webhook-timestamp": ts,
    "x-webhook-signature": "sha256=" + createHmac("sha256", SECRET).update(`${ts}.`).update(body).digest("hex")
  }
}

const reads = async (standin, id) => (await (await fetch(`${standin.base}/_standin/apps/${id}/reads`)).json()).count

/** Stops one CVM of the target's app in the stand-in; returns the app's read count then. */
const stop = async (standin, { id, vm }) => {
  const put = await fetch(`${standin.base}/_standin/apps/${id}/cvms/${vm}/status`, {
    method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ status: "stopped" })
  })
  if (!put.ok) throw new Error(`stand-in status for ${id}: ${put.status}`)
  return reads(standin, id)
}

/** Posts the signed event about the (stopped) target; resolves with the client-side timings. */
const oneEvent = async (standin, daemon, target, n, before, pollMs) => {
  const { id, vm, name } = target
  const body = JSON.stringify({
    id: `evt_bench_${n}`,
    event: "cvm.stopped",
    version: "1",
    created_at: new Date().toISOString(),
    workspace: { id: "ws_bench", name: "bench" },
    data: { cvm_id: vm, cvm_name: name, app_id: id, status: "stopped" }
  })
  const t0 = performance.now()
  const r = await fetch(`${daemon.base}${HOOK}`, { method: "POST", headers: signed(body), body })
  await r.arrayBuffer()
  const postMs = performance.now() - t0
  if (r.status !== 202) throw new Error(`event for ${id}: ${r.status}`)
  const rereadMs = await waitFor(`the re-read of ${id}`, async () => ((await reads(standin, id)) > before ? performance.now() - t0 : undefined), 30_000, pollMs)
  return { status: r.status, postMs, rereadMs }
}

const summary = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return { p50_ms: round(percentile(sorted, 50), 1), p99_ms: round(percentile(sorted, 99), 1), max_ms: round(sorted.at(-1), 1) }
}

const loopWindows = (file) => {
  try {
    return readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l))
  } catch {
    return []
  }
}

/** Closes the current loop-delay window and returns it (the preload appends one line per SIGUSR2). */
const closeWindow = async (daemon) => {
  const had = loopWindows(daemon.loopFile).length
  daemon.proc.child.kill("SIGUSR2")
  return waitFor("a loop-delay window", async () => loopWindows(daemon.loopFile)[had], 5000, 20)
}

const phase = async (standin, daemon, targets, { burst, offset }) => {
  const before = await histogram(daemon)
  await closeWindow(daemon)
  const t0 = Date.now()
  let timings
  if (burst) {
    // every CVM stopped first, then every event at once; the re-reads are polled less often, not to load the machine
    const befores = []
    for (const t of targets) befores.push(await stop(standin, t))
    timings = await Promise.all(targets.map((t, i) => oneEvent(standin, daemon, t, offset + i, befores[i], 25)))
  } else {
    timings = []
    for (const [i, t] of targets.entries()) {
      const start = Date.now()
      timings.push(await oneEvent(standin, daemon, t, offset + i, await stop(standin, t), 2))
      await sleep(Math.max(0, SPACING_MS - (Date.now() - start)))
    }
  }
  const wall = Date.now() - t0
  // every event was for another app: each one is one publish, observed once
  const after = await waitFor("every publish in the histogram", async () => {
    const h = await histogram(daemon)
    return h.count >= before.count + targets.length ? h : undefined
  }, limit(60_000), 200)
  const window = await closeWindow(daemon)
  const count = after.count - before.count
  return {
    events: targets.length,
    wall_s: round(wall / 1000, 2),
    accepted: after.accepted - before.accepted,
    daemon_publish: {
      count,
      p50_ms: round((quantile(before, after, 0.5) ?? NaN) * 1000, 1),
      p99_ms: round((quantile(before, after, 0.99) ?? NaN) * 1000, 1),
      mean_ms: round(((after.sum - before.sum) / count) * 1000, 1)
    },
    client_post: summary(timings.map((t) => t.postMs)),
    client_reread: summary(timings.map((t) => t.rereadMs)),
    loop_delay_max_ms: window.max_ms,
    loop_delay_p99_ms: window.p99_ms,
    exposition_mib: mib(after.bytes)
  }
}

const fleet = async (n) => {
  const row = { apps: n, cvms: n * 2, ready_s: null, sequential: null, burst: null, peak_rss_mib: null, note: null }
  const standin = await startStandin(n, LATENCY_MS)
  let daemon = null
  try {
    daemon = await startServe(standin)
    row.ready_s = daemon.ready_s
    log(`N=${n}: ready in ${row.ready_s} s`)
    const random = rng(n)
    const picked = new Set()
    while (picked.size < Math.min(2 * EVENTS, n)) picked.add(standin.ids[Math.floor(random() * n)])
    const targets = []
    for (const id of picked) {
      const app = await (await fetch(`${standin.apiUrl}/apps/${id}`, { headers: { "x-api-key": API_KEY } })).json()
      const cvm = app.cvms[0]
      targets.push({ id, vm: cvm.vm_uuid, name: cvm.name })
    }
    row.sequential = await phase(standin, daemon, targets.slice(0, EVENTS), { burst: false, offset: 0 })
    log(`N=${n}: sequential`, JSON.stringify(row.sequential))
    if (remaining() > 30_000 && targets.length > EVENTS) {
      row.burst = await phase(standin, daemon, targets.slice(EVENTS), { burst: true, offset: EVENTS })
      log(`N=${n}: burst`, JSON.stringify(row.burst))
    }
    row.peak_rss_mib = mib(procStats(daemon.proc.pid).hwm)
  } catch (e) {
    row.note = String(e).slice(0, 300)
    log(`N=${n}: ${row.note}`)
  } finally {
    await daemon?.proc.stop()
    await standin.proc.stop()
  }
  return row
}

try {
  log("machine", JSON.stringify(results.machine), "load", results.load_avg_at_start.join(" "))
  for (const n of FLEETS) {
    if (remaining() < 60_000) {
      results.fleets.push({ apps: n, note: "skipped: run budget used up" })
      continue
    }
    results.fleets.push(await fleet(n))
  }
} finally {
  await stopAll()
}

results.duration_s = round((Date.now() - started) / 1000, 1)
saveResults("webhook-latency.json", results)

const m = results.machine
const line = tableRow
const rows = results.fleets.flatMap((r) =>
  [["sequential", r.sequential], ["burst", r.burst]].filter(([, p]) => p != null).map(([kind, p]) => line([
    r.apps, kind, p.events, `${p.daemon_publish.p50_ms} / ${p.daemon_publish.p99_ms}`, p.daemon_publish.mean_ms,
    `${p.client_post.p50_ms} / ${p.client_post.p99_ms}`, `${p.client_reread.p50_ms} / ${p.client_reread.p99_ms}`, p.loop_delay_max_ms
  ])))
console.log([
  `webhook latency: ${machineText(m)}; load ${results.load_avg_at_start.join(" ")}; API latency ${LATENCY_MS} ms; ${results.duration_s} s`,
  "",
  line(["N apps", "phase", "events", "daemon publish p50 / p99 ms", "mean ms", "POST p50 / p99 ms", "POST→re-read p50 / p99 ms", "loop delay max ms"]),
  line(["---", "---", "---", "---", "---", "---", "---", "---"]),
  ...rows,
  ...results.fleets.filter((r) => r.note).map((r) => `N=${r.apps}: ${r.note}`),
  "written: bench/results/webhook-latency.json"
].join("\n"))
