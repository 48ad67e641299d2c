// Requests per cycle with the workspace sweep (issue 10 item 3): `plan` (built CLI) against the fast stand-in API
// (bench/standin.js, its own process, 20 ms per answer), N apps × 2 CVMs, every app declared, api.concurrency 64, no
// retries, once with `api.fetch: per_app` and once with `api.fetch: list`. Requests are counted by the stand-in
// (`/_standin/stats` before and after), so the figure is exact whatever the machine's load; wall times and peak RSS
// are reported with the load average, since on a busy machine they are not comparable between runs.
// Usage: npm run build && node bench/sweep.js [N ...] (default 1000 10000). Writes bench/results/sweep.json.
import { readFileSync } from "node:fs"
import { loadavg } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { API_KEY, machine, machineText, mib, ROOT, round, saveResults, spawnCli, startStandin, stopAll, tableRow, writeFleetConfig } from "./lib.js"

const CONCURRENCY = 64
const LATENCY_MS = 20
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0)
const fleets = sizes.length > 0 ? sizes : [1000, 10_000]
const peakRssPreload = pathToFileURL(join(ROOT, "test", "support", "peak-rss.mjs")).href
const log = (...args) => console.error("[bench sweep]", ...args)

const writeConfig = (standin, fetch) => writeFleetConfig(standin, { concurrency: CONCURRENCY, api: [`fetch: ${fetch}`] })

const served = async (standin) => (await (await fetch(`${standin.base}/_standin/stats`)).json()).served

const plan = async (standin, fetch) => {
  const { dir, path } = writeConfig(standin, fetch)
  const rssFile = join(dir, "peak-rss")
  const before = await served(standin)
  const since = Date.now()
  const proc = spawnCli(["plan", "--config", path, "-o", "json"], { PHALA_CLOUD_API_KEY: API_KEY, PEAK_RSS_FILE: rssFile, NODE_OPTIONS: `--import ${peakRssPreload}` })
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 300_000)
  const code = await proc.exit
  clearTimeout(timer)
  const wallMs = Date.now() - since
  const requests = (await served(standin)) - before
  let peak = null
  try {
    peak = mib(Number(readFileSync(rssFile, "utf8")) * 1024)
  } catch {
    peak = null
  }
  return { fetch, code, requests, wall_ms: wallMs, peak_rss_mib: peak, load_avg: loadavg().map((x) => round(x, 2)) }
}

const results = { machine: machine(), started_at: new Date().toISOString(), load_avg_at_start: loadavg().map((x) => round(x, 2)), concurrency: CONCURRENCY, latency_ms: LATENCY_MS, fleets: [] }
try {
  for (const n of fleets) {
    log(`stand-in with ${n} apps`)
    const standin = await startStandin(n, LATENCY_MS)
    const row = { apps: n, runs: [] }
    for (const fetch of ["per_app", "list"]) {
      log(`plan, api.fetch: ${fetch}`)
      row.runs.push(await plan(standin, fetch))
    }
    results.fleets.push(row)
    standin.proc.child.kill("SIGTERM")
    await standin.proc.exit
  }
} finally {
  await stopAll()
}
saveResults("sweep.json", results)

console.log(`Requests per cycle, ${machineText(results.machine)}, load average at start ${results.load_avg_at_start.join(" ")}`)
// exit 0: every app in sync (the stand-in's fleet is steady), so both readings gave the same plan
console.log(tableRow(["apps", "api.fetch", "requests", "plan wall", "plan peak RSS", "exit"]))
console.log(tableRow(["---", "---", "---", "---", "---", "---"]))
for (const row of results.fleets) {
  for (const run of row.runs) {
    console.log(tableRow([row.apps, run.fetch, run.requests, `${(run.wall_ms / 1000).toFixed(1)} s`, run.peak_rss_mib === null ? null : `${run.peak_rss_mib} MiB`, run.code]))
  }
}
