// Fleet scale, the "before" figures of issue 10, measured in one run on this machine against the fast stand-in API
// (bench/standin.js, its own process, 20 ms per answer), N apps × 2 CVMs, api.concurrency 64, no retries:
//   1. the bare poller (bench/bare-poller.js: fetch + JSON.parse, same N and concurrency, keep-alive), run before and
//      after each `plan` so machine load shows in both; two passes each, the first opening the connections
//   2. `plan` (built CLI), FLEET_PLAN_ROUNDS times (default 3) between pollers: wall time from spawn to exit vs the mean
//      of the two pollers' processes without their second pass (all: Node start, one cold pass); the median ratio of
//      the rounds is the figure, and the peak RSS (VmHWM at exit) the largest of them
//   3. `serve` (poll every second): time to the first cycle's end, the event-loop delay max from the first cycle's end
//      to the second's (monitorEventLoopDelay, preloaded), then while the third runs three scrapes plain and gzip, ten
//      loads of the status page; the cycle's own duration (its log line's duration_ms, vs the poller's warm pass) as
//      the median of the second to the fourth; peak RSS
//   Each phase also records the share of the machine's CPU time the hypervisor stole while it ran (/proc/stat)
//   4. in this process: the metric store's publish of one changed app at 1k and 10k, and Metrics.record (the store) of the
//      whole snapshot (what every cycle does) at the largest N
// Phases 1-3 run once per app read: `api.fetch: per_app` (one GET /apps/{id} per app; the poller likewise) and
// `api.fetch: list` (the workspace sweep, pages of 100; the poller with --list reads the same pages).
// Every phase has a time limit and the run a budget (FLEET_BUDGET_S, default 1500 s); a phase that does not fit is
// skipped and says so. Usage: npm run build && node bench/fleet-scale.js [N ...] (default 1000 10000 20000); `npm run
// bench` runs it after bench/run.js.
// Writes bench/results/fleet.json and prints a table.
import { readFileSync } from "node:fs"
import { get } from "node:http"
import { loadavg } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import {
  API_KEY, cpuTicks, freePort, HOST, machine, machineText, mib, procStats, ROOT, round, saveResults, sleep, spawnCli, spawnNode, startStandin, stealPercent, stopAll, tableRow, waitFor, writeFleetConfig
} from "./lib.js"
import { metricsPhase, storePhase } from "./store.js"

const started = Date.now()
const budgetMs = Number(process.env.FLEET_BUDGET_S ?? 1500) * 1000
const remaining = () => Math.max(0, budgetMs - (Date.now() - started))
const limit = (ms) => Math.max(1000, Math.min(ms, remaining()))
const log = (...args) => console.error(`[bench fleet ${((Date.now() - started) / 1000).toFixed(0)}s]`, ...args)

const CONCURRENCY = 64
const PLAN_ROUNDS = Number(process.env.FLEET_PLAN_ROUNDS ?? 3)
/** The middle value (the upper of the two middle ones for an even count). */
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const LATENCY_MS = 20
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0)
const fleets = sizes.length > 0 ? sizes : [1000, 10_000, 20_000]
const peakRssPreload = pathToFileURL(join(ROOT, "test", "support", "peak-rss.mjs")).href
const loopDelayPreload = pathToFileURL(join(ROOT, "bench", "loop-delay.mjs")).href

const results = { machine: machine(), started_at: new Date(started).toISOString(), load_avg_at_start: loadavg().map((x) => round(x, 2)), concurrency: CONCURRENCY, latency_ms: LATENCY_MS, fleets: [], store: [], prom_client: null }

/** Waits for a child to exit within `ms`; kills it past that. Wall time from `since`. */
const finish = async (proc, since, ms) => {
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), ms)
  const code = await proc.exit
  clearTimeout(timer)
  return { code, wall_ms: Date.now() - since, killed: proc.child.signalCode === "SIGKILL" }
}


const writeConfig = (standin, fetch, { listen = null, interval = "1h" } = {}) =>
  writeFleetConfig(standin, {
    concurrency: CONCURRENCY,
    api: [`fetch: ${fetch}`],
    extra: (dir) => [
      "poll:",
      `  interval: ${interval}`,
      ...(listen === null ? [] : ["server:", `  listen: ${listen}`]),
      `state_dir: ${join(dir, "state")}`
    ]
  })

const poller = async (standin, fetch, ms) => {
  const since = Date.now()
  const proc = spawnNode([
    join(ROOT, "bench", "bare-poller.js"), "--url", standin.apiUrl, "--concurrency", String(CONCURRENCY), "--passes", "2",
    ...(fetch === "list" ? ["--list"] : [])
  ])
  const end = await finish(proc, since, ms)
  const line = proc.stdout().split("\n").find((l) => l.startsWith("{"))
  if (end.code !== 0 || line === undefined) return { ...end, error: proc.stderr().slice(-500) }
  const out = JSON.parse(line)
  return { ...end, cold_pass_ms: out.passes[0]?.ms, warm_pass_ms: out.passes[1]?.ms, errors: out.passes.reduce((n, p) => n + p.errors, 0), peak_rss_mib: mib(out.peak_rss_kb * 1024) }
}

const plan = async (standin, fetch, ms) => {
  const { dir, path } = writeConfig(standin, fetch)
  const rssFile = join(dir, "peak-rss")
  const since = Date.now()
  const proc = spawnCli(["plan", "--config", path, "-o", "json"], {
    PHALA_CLOUD_API_KEY: API_KEY,
    PEAK_RSS_FILE: rssFile,
    NODE_OPTIONS: `--import ${peakRssPreload}`
  })
  const end = await finish(proc, since, ms)
  let peak = null
  try {
    peak = mib(Number(readFileSync(rssFile, "utf8")) * 1024)
  } catch {
    peak = null
  }
  return { ...end, peak_rss_mib: peak, ...(end.code === 0 ? {} : { stderr_tail: proc.stderr().slice(-500) }) }
}

/** Raw bytes of one GET (no decompression), timed. */
const timedGet = (url, headers = {}) =>
  new Promise((resolve, reject) => {
    const t = performance.now()
    let bytes = 0
    get(url, { headers }, (res) => {
      res.on("data", (d) => { bytes += d.byteLength })
      res.on("end", () => resolve({ ms: round(performance.now() - t, 1), bytes, status: res.statusCode }))
    }).on("error", reject)
  })

const windows = (file) => {
  try {
    return readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l))
  } catch {
    return []
  }
}

/** duration_ms of each "reconcile cycle finished" log line so far (LOG_FORMAT=json). */
const cycleDurations = (proc) =>
  proc.stderr().split("\n").filter((l) => l.includes("reconcile cycle finished")).map((l) => {
    try {
      const line = JSON.parse(l)
      return Number(line.duration_ms ?? line.annotations?.duration_ms)
    } catch {
      return Number.NaN
    }
  })

const serve = async (standin, fetch, ms) => {
  const port = await freePort()
  // poll every second: the second cycle starts at most a second after the first (ticks during a cycle are skipped)
  const { dir, path } = writeConfig(standin, fetch, { listen: `${HOST}:${port}`, interval: "1s" })
  const loopFile = join(dir, "loop-delay.jsonl")
  const base = `http://${HOST}:${port}`
  const since = Date.now()
  const proc = spawnCli(["serve", "--config", path], {
    PHALA_CLOUD_API_KEY: API_KEY,
    LOOP_DELAY_FILE: loopFile,
    NODE_OPTIONS: `--import ${loopDelayPreload}`
  })
  const row = { ready_s: null, cycle_s: null, cycles_s: null, loop_delay_max_ms_cycle: null, loop_delay_max_ms_first_cycle: null, scrape_plain_ms: null, scrape_gzip_ms: null, status_page_ms: null, status_page_p50_ms: null, status_page_max_ms: null, status_page_kib: null, exposition_mib: null, peak_rss_mib: null, note: null }
  const cycleEnd = (count, what) =>
    waitFor(what, async () => {
      if (proc.child.exitCode !== null) throw new Error(`serve exited: ${proc.stderr().slice(-500)}`)
      return cycleDurations(proc).length >= count ? Date.now() : undefined
    }, limit(ms), 50)
  try {
    await cycleEnd(1, "the first cycle")
    row.ready_s = round((Date.now() - since) / 1000, 1)
    // close the window of start-up and first cycle; the next one covers the second cycle (and the gap before it)
    proc.child.kill("SIGUSR2")
    await cycleEnd(2, "the second cycle")
    proc.child.kill("SIGUSR2")
    await sleep(300)
    const [startup, during] = windows(loopFile)
    row.loop_delay_max_ms_first_cycle = startup?.max_ms ?? null
    row.loop_delay_max_ms_cycle = during?.max_ms ?? null
    // scrapes and the status page while the next cycle runs, as Prometheus and people see them
    const plain = []
    const gzip = []
    for (let i = 0; i < 3; i++) {
      const p = await timedGet(`${base}/metrics`, { "accept-encoding": "identity" })
      plain.push(p.ms)
      row.exposition_mib = mib(p.bytes)
      gzip.push((await timedGet(`${base}/metrics`, { "accept-encoding": "gzip" })).ms)
    }
    row.scrape_plain_ms = plain
    row.scrape_gzip_ms = gzip
    // ten loads of the status page, 100 ms apart: one sample says more about the moment than about the page
    const pages = []
    for (let i = 0; i < 10; i++) {
      const page = await timedGet(`${base}/`)
      pages.push(page.ms)
      row.status_page_kib = round(page.bytes / 1024, 1)
      await sleep(100)
    }
    row.status_page_ms = pages
    const sorted = [...pages].sort((a, b) => a - b)
    row.status_page_p50_ms = sorted[Math.floor(sorted.length / 2)]
    row.status_page_max_ms = sorted.at(-1)
    // the cycle's duration: the median of the second to the fourth (the first opens the connections)
    await cycleEnd(4, "the fourth cycle")
    row.cycles_s = cycleDurations(proc).slice(1, 4).map((ms) => round(ms / 1000, 2))
    row.cycle_s = median(row.cycles_s)
    row.peak_rss_mib = mib(procStats(proc.pid).hwm)
  } catch (e) {
    row.note = String(e).slice(0, 300)
    try {
      row.peak_rss_mib = mib(procStats(proc.pid).hwm)
    } catch {
      // gone already
    }
  }
  await proc.stop()
  return row
}

const readingPhase = async (standin, n, fetch) => {
  const big = n >= 5000
  const row = { apps: n, cvms: n * 2, fetch }
  // the poller makes two passes; plan makes one: compare with the poller's process minus its second pass
  const onePass = (p) => p.wall_ms - p.warm_pass_ms
  // poller, plan, poller, plan, …, poller: each plan against the mean of the pollers either side of it, so that a
  // spell of load on the machine (CPU steal on this VM reaches 30 %) shows in both; the median of the rounds is reported
  const pollers = []
  const plans = []
  const ticks = cpuTicks()
  log(`N=${n} ${fetch}: poller`)
  pollers.push(await poller(standin, fetch, limit(big ? 60_000 : 20_000)))
  for (let i = 0; i < PLAN_ROUNDS; i++) {
    log(`N=${n} ${fetch}: plan ${i + 1}/${PLAN_ROUNDS}`, JSON.stringify(pollers.at(-1)))
    plans.push(await plan(standin, fetch, limit(big ? 180_000 : 60_000)))
    log(`N=${n} ${fetch}: poller`, JSON.stringify(plans.at(-1)))
    pollers.push(await poller(standin, fetch, limit(big ? 60_000 : 20_000)))
  }
  row.steal_pct_plan = stealPercent(ticks, cpuTicks())
  row.pollers = pollers
  row.plans = plans
  row.poller_one_pass_wall_ms = pollers.map((p) => Math.round(onePass(p)))
  const warm = pollers.reduce((sum, p) => sum + p.warm_pass_ms, 0) / pollers.length
  row.poller_warm_pass_ms = round(warm, 1)
  row.plan_over_poller_rounds = plans.map((p, i) =>
    p.code === 0 || p.code === 2 ? round(p.wall_ms / ((onePass(pollers[i]) + onePass(pollers[i + 1])) / 2), 2) : null
  )
  const ratios = row.plan_over_poller_rounds.filter((r) => r !== null)
  row.plan_over_poller_wall = ratios.length === plans.length ? median(ratios) : null
  const peaks = plans.map((p) => p.peak_rss_mib).filter((mib) => mib !== null)
  row.plan = { wall_ms: median(plans.map((p) => p.wall_ms)), peak_rss_mib: peaks.length === 0 ? null : Math.max(...peaks) }
  log(`N=${n} ${fetch}: serve`, JSON.stringify(row.plan_over_poller_rounds))
  if (remaining() > (big ? 120_000 : 30_000)) {
    const serveTicks = cpuTicks()
    row.serve = await serve(standin, fetch, big ? 240_000 : 60_000)
    row.steal_pct_serve = stealPercent(serveTicks, cpuTicks())
    row.serve_cycle_over_poller_warm_pass = row.serve.cycle_s === null ? null : round((row.serve.cycle_s * 1000) / warm, 2)
  } else {
    row.serve = { note: "skipped: run budget used up" }
  }
  log(`N=${n} ${fetch}: serve`, JSON.stringify(row.serve))
  results.fleets.push(row)
}

const fleetPhase = async (n) => {
  const standin = await startStandin(n, LATENCY_MS)
  for (const fetch of ["per_app", "list"]) await readingPhase(standin, n, fetch)
  await standin.proc.stop()
}

try {
  for (const n of fleets) await fleetPhase(n)
  for (const n of fleets) {
    const { row } = await storePhase(n, 64)
    results.store.push(row)
    log("store", JSON.stringify(row))
  }
  const largest = Math.max(...fleets)
  if (remaining() > 60_000) {
    results.prom_client = await metricsPhase(largest, { cycle: false })
    log("prom-client", JSON.stringify(results.prom_client))
  }
} finally {
  await stopAll()
}

results.duration_s = round((Date.now() - started) / 1000, 1)
saveResults("fleet.json", results)

const m = results.machine
const line = tableRow
console.log([
  `fleet scale: ${machineText(m)}; load ${results.load_avg_at_start.join(" ")}; ${results.duration_s} s`,
  `stand-in latency ${LATENCY_MS} ms, concurrency ${CONCURRENCY}`,
  "",
  line(["N", "api.fetch", "poller s (1 pass, each round)", "plan s (median)", "plan/poller (median; rounds)", "plan peak MiB", "serve ready s", "serve cycle s", "cycle/poller warm", "serve loop delay max ms (cycle)", "serve peak MiB", "status page p50 / max ms", "scrape gzip / plain ms", "CPU steal % (plan / serve)"]),
  line(["---", "---", "---", "---", "---", "---", "---", "---", "---", "---", "---", "---", "---", "---"]),
  ...results.fleets.map((r) => line([
    r.apps,
    r.fetch,
    r.poller_one_pass_wall_ms.map((ms) => round(ms / 1000, 1)).join(" / "),
    round(r.plan.wall_ms / 1000, 1),
    `${r.plan_over_poller_wall} (${r.plan_over_poller_rounds.join(", ")})`,
    r.plan.peak_rss_mib,
    r.serve.ready_s,
    r.serve.cycle_s,
    r.serve_cycle_over_poller_warm_pass,
    r.serve.loop_delay_max_ms_cycle,
    r.serve.peak_rss_mib,
    `${r.serve.status_page_p50_ms} / ${r.serve.status_page_max_ms}`,
    `${Math.min(...(r.serve.scrape_gzip_ms ?? [Number.NaN]))}-${Math.max(...(r.serve.scrape_gzip_ms ?? [Number.NaN]))} / ${Math.min(...(r.serve.scrape_plain_ms ?? [Number.NaN]))}-${Math.max(...(r.serve.scrape_plain_ms ?? [Number.NaN]))}`,
    `${r.steal_pct_plan} / ${r.steal_pct_serve ?? "–"}`
  ])),
  "",
  ...results.store.map((r) => `store at N=${r.apps}: one changed app published in ${r.one_app_publish_p50_ms} ms (p50), full publish ${r.full_publish_ms} ms, loop delay max ${r.full_loop_delay_max_ms} ms`),
  results.prom_client === null ? "" : `Metrics.record at N=${results.prom_client.apps}: ${results.prom_client.record_ms} ms`,
  "written: bench/results/fleet.json"
].join("\n"))
