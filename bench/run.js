// `npm run bench`: the daemon (child process, built CLI) against the simulator (child process) with a synthetic fleet
// of N apps × 2 CVMs, loopback only. Figures are ratios measured in this one run on this machine:
//   1. poll-cycle time vs. the bound ceil(N / C) × L, with a per-request latency L set through the simulator's faults
//      (`api.fetch: per_app`, the reading that bound describes; the others use the default, `auto`: the sweep)
//   2. cycle CPU time without latency (N = 1000 and 5000)
//   3. /metrics scrape latency p50/p99 (plain, gzip) vs. the render cost of the same exposition; size and series
//   4. RSS at N = 1000 and 5000
// Every wait and request loop is bounded in count and time, and the whole run by BENCH_BUDGET_S (default 260 s).
// Prints a table and writes bench/results/latest.json.
import { gunzipSync } from "node:zlib"
import {
  machine, machineText, mib, percentile, pollStats, procStats, round, sample, saveResults, setFaults, startDaemon, startSimulator, stopAll, waitFor
} from "./lib.js"
import { parseExposition, timeRender } from "./render.js"

const started = Date.now()
const budgetMs = Number(process.env.BENCH_BUDGET_S ?? 260) * 1000
const remaining = () => Math.max(0, budgetMs - (Date.now() - started))
/** A phase's time limit: its own, but never past the run's budget. */
const limit = (ms) => Math.max(1000, Math.min(ms, remaining()))
const log = (...args) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s]`, ...args)

const results = { machine: machine(), started_at: new Date(started).toISOString(), cycle_vs_bound: [], cycle_cpu: [], scrape: null, memory: [] }

/** Waits for the daemon's first finished cycle; null when it does not finish within the limit. */
const firstCycle = async (daemon, ms) => {
  try {
    return await waitFor("first cycle", async () => {
      const s = await pollStats(daemon)
      return s.count >= 1 ? s : undefined
    }, ms, 200)
  } catch {
    return null
  }
}

let lastTimeout = null
/** Starts a daemon and waits for readiness within `ms`; on a timeout returns the daemon without a first cycle. */
const daemonWithin = async (sim, options, ms) => {
  try {
    return await startDaemon(sim, { ...options, readyTimeoutMs: ms })
  } catch (e) {
    log(`daemon not ready: ${String(e).slice(0, 200)}`)
    lastTimeout = e.lastStats ?? null
    return null
  }
}

// --- 1. cycle time vs. bound, with latency -----------------------------------------------------------------------
const latencyPhase = async () => {
  const N = 1000
  const L = 0.05
  const sim = await startSimulator({ apps: N })
  await setFaults(sim, { latency: "50ms" })
  for (const C of [8, 32]) {
    if (remaining() < 20_000) break
    const bound = Math.ceil(N / C) * L
    const t0 = Date.now()
    const daemon = await daemonWithin(sim, { concurrency: C, interval: "1h", apiFetch: "per_app" }, limit(75_000))
    const stats = daemon === null ? null : await firstCycle(daemon, 5000)
    const cpu = daemon === null ? null : procStats(daemon.proc.pid).cpuSeconds
    const row = {
      apps: N, cvms: N * 2, concurrency: C, latency_ms: L * 1000,
      bound_s: round(bound),
      cycle_s: stats === null ? null : round(stats.sum),
      ratio: stats === null ? null : round(stats.sum / bound, 2),
      daemon_cpu_s_incl_startup: cpu === null ? null : round(cpu, 2),
      finished: stats !== null,
      waited_s: round((Date.now() - t0) / 1000, 1)
    }
    results.cycle_vs_bound.push(row)
    log("cycle vs bound", JSON.stringify(row))
    await daemon?.proc.stop()
  }
  await sim.proc.stop()
}

// --- 2-4. no latency: cycle CPU, scrape cost, memory ---------------------------------------------------------------
const scrapeLoop = async (daemon, gzip, count, ms) => {
  const times = []
  let bytes = 0
  let text = ""
  const deadline = Date.now() + ms
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const t = process.hrtime.bigint()
    const r = await fetch(`${daemon.base}/metrics`, { headers: { "accept-encoding": gzip ? "gzip" : "identity" } })
    const body = new Uint8Array(await r.arrayBuffer())
    times.push(Number(process.hrtime.bigint() - t) / 1e6)
    if (i === 0) {
      bytes = body.byteLength
      // fetch decodes gzip itself; ask for the raw size through content-length when it is there
      const declared = Number(r.headers.get("content-length"))
      if (Number.isFinite(declared) && declared > 0) bytes = declared
      text = gzip && r.headers.get("content-encoding") === "gzip" && body[0] === 0x1f ? gunzipSync(body).toString() : Buffer.from(body).toString()
    }
  }
  times.sort((a, b) => a - b)
  return { requests: times.length, p50_ms: round(percentile(times, 50)), p99_ms: round(percentile(times, 99)), max_ms: round(times[times.length - 1]), bytes, text }
}

const fleetPhase = async (N, { scrape }) => {
  const sim = await startSimulator({ apps: N })
  const t0 = Date.now()
  // interval 5s: the next cycle starts soon after the first, so a second one can be timed
  const daemon = await daemonWithin(sim, { concurrency: 8, interval: "5s" }, limit(N > 1000 ? 100_000 : 75_000))
  const row = { apps: N, cvms: N * 2, concurrency: 8, first_cycle_s: null, steady_cycle_s: null, steady_cycle_cpu_s: null, cpu_per_app_ms: null }
  const mem = { apps: N, cvms: N * 2, rss_mib_after_first_cycle: null, rss_mib_peak: null, note: null }
  if (daemon === null) {
    mem.note = `no finished cycle within ${round((Date.now() - t0) / 1000, 0)} s${lastTimeout === null ? "" : `; RSS then ${mib(lastTimeout.rss)} MiB`}`
    if (lastTimeout !== null) {
      mem.rss_mib_at_cutoff = mib(lastTimeout.rss)
      mem.rss_mib_peak = mib(lastTimeout.hwm)
      row.cpu_s_at_cutoff = round(lastTimeout.cpuSeconds, 1)
    }
  } else {
    const first = await pollStats(daemon)
    row.first_cycle_s = round(first.sum)
    const atFirst = procStats(daemon.proc.pid)
    mem.rss_mib_after_first_cycle = mib(atFirst.rss)

    if (scrape && remaining() > 30_000) {
      const plain = await scrapeLoop(daemon, false, 500, limit(30_000))
      const gz = await scrapeLoop(daemon, true, 500, limit(30_000))
      const series = parseExposition(plain.text)
      const render = await timeRender(series)
      const countsDuring = await pollStats(daemon)
      results.scrape = {
        apps: N, cvms: N * 2,
        series: series.length,
        exposition_bytes: plain.bytes,
        exposition_gzip_bytes: gz.bytes,
        plain: { requests: plain.requests, p50_ms: plain.p50_ms, p99_ms: plain.p99_ms, max_ms: plain.max_ms },
        gzip: { requests: gz.requests, p50_ms: gz.p50_ms, p99_ms: gz.p99_ms, max_ms: gz.max_ms },
        render_ms: round(render.median_ms), render_min_ms: round(render.min_ms),
        render_over_scrape_p50: round(render.median_ms / plain.p50_ms, 1),
        render_over_gzip_scrape_p50: round(render.median_ms / gz.p50_ms, 1),
        cycles_during_scrapes: countsDuring.count - first.count,
        build_info_present: sample(plain.text, "phala_drift_build_info") === 1
      }
      log("scrape", JSON.stringify(results.scrape))
    }

    // time the next full cycle: from the end of one to the end of the following, CPU from /proc
    const from = await waitFor("a cycle boundary", async () => pollStats(daemon), 5000)
    const fromCpu = procStats(daemon.proc.pid).cpuSeconds
    try {
      const next = await waitFor("next cycle", async () => {
        const s = await pollStats(daemon)
        return s.count >= from.count + 1 ? s : undefined
      }, limit(N > 1000 ? 60_000 : 45_000), 250)
      const cpu = procStats(daemon.proc.pid).cpuSeconds - fromCpu
      const cycles = next.count - from.count
      row.steady_cycle_s = round((next.sum - from.sum) / cycles)
      row.steady_cycle_cpu_s = round(cpu / cycles)
      row.cpu_per_app_ms = round((cpu / cycles / N) * 1000, 2)
      row.cpu_over_wall = round(cpu / (next.sum - from.sum), 2)
    } catch {
      row.note = "no second cycle within the time limit"
    }
    const end = procStats(daemon.proc.pid)
    mem.rss_mib_peak = mib(end.hwm)
    mem.rss_mib_end = mib(end.rss)
    await daemon.proc.stop()
  }
  mem.simulator_rss_mib = mib(procStats(sim.proc.pid).rss)
  results.cycle_cpu.push(row)
  results.memory.push(mem)
  log("cycle cpu", JSON.stringify(row), "memory", JSON.stringify(mem))
  await sim.proc.stop()
}

const table = (title, rows, columns) => {
  const lines = [title, columns.map(([h]) => h).join(" | ")]
  for (const r of rows) lines.push(columns.map(([, f]) => String(f(r) ?? "-")).join(" | "))
  return lines.join("\n")
}

try {
  log("machine", JSON.stringify(results.machine))
  await latencyPhase()
  await fleetPhase(1000, { scrape: true })
  if (remaining() > 30_000) await fleetPhase(5000, { scrape: false })
  else results.memory.push({ apps: 5000, note: "skipped: run budget used up" })
} finally {
  await stopAll()
}

results.duration_s = round((Date.now() - started) / 1000, 1)
saveResults("latest.json", results)

const m = results.machine
const s = results.scrape
console.log([
  `phala-drift bench: ${machineText(m)}; ${results.duration_s} s`,
  "",
  table("Poll cycle vs. bound ceil(N/C) x L", results.cycle_vs_bound, [
    ["N", (r) => r.apps], ["C", (r) => r.concurrency], ["L ms", (r) => r.latency_ms], ["bound s", (r) => r.bound_s],
    ["cycle s", (r) => r.cycle_s], ["cycle/bound", (r) => r.ratio]
  ]),
  "",
  table("Cycle without latency (C=8)", results.cycle_cpu, [
    ["N", (r) => r.apps], ["first cycle s", (r) => r.first_cycle_s], ["cycle s", (r) => r.steady_cycle_s],
    ["cycle CPU s", (r) => r.steady_cycle_cpu_s], ["CPU ms/app", (r) => r.cpu_per_app_ms], ["CPU/wall", (r) => r.cpu_over_wall]
  ]),
  "",
  s === null ? "Scrape: not measured" : [
    `Scrape /metrics at N=${s.apps} (${s.cvms} CVMs): ${s.series} series, ${s.exposition_bytes} B plain, ${s.exposition_gzip_bytes} B gzip`,
    `  plain p50 ${s.plain.p50_ms} ms, p99 ${s.plain.p99_ms} ms (${s.plain.requests} req); gzip p50 ${s.gzip.p50_ms} ms, p99 ${s.gzip.p99_ms} ms (${s.gzip.requests} req)`,
    `  render of the same exposition ${s.render_ms} ms = ${s.render_over_scrape_p50}x a plain scrape p50, ${s.render_over_gzip_scrape_p50}x a gzip one`
  ].join("\n"),
  "",
  table("Memory (RSS)", results.memory, [
    ["N", (r) => r.apps], ["after first cycle MiB", (r) => r.rss_mib_after_first_cycle], ["peak MiB", (r) => r.rss_mib_peak],
    ["note", (r) => r.note]
  ]),
  "",
  "written: bench/results/latest.json"
].join("\n"))
