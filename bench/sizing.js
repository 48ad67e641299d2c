// Resource sizing run: the daemon against the simulator's synthetic fleet at a 10s poll interval, sampled from /proc
// every second for SIZING_SECONDS (default 120) per fleet, with a Prometheus-like scrape every 15s.
// Usage: npm run build && node bench/sizing.js [apps ...]   (default: 1000 5000; 2 CVMs per app)
// The numbers feed the requests/limits in deploy/kubernetes/statefulset.yaml (see deploy/README.md).
import {
  machine, mib, percentile, pollStats, procStats, round, saveResults, scrape, sleep, startDaemon, startSimulator, stopAll
} from "./lib.js"

const seconds = Number(process.env.SIZING_SECONDS ?? 120)
const fleets = process.argv.slice(2).map(Number).filter((n) => n > 0)

const measure = async (apps) => {
  const sim = await startSimulator({ apps })
  const daemon = await startDaemon(sim, { concurrency: 8, interval: "10s", readyTimeoutMs: 240_000 })
  const pid = daemon.proc.pid
  const samples = []
  const started = Date.now()
  const first = procStats(pid)
  const firstPoll = await pollStats(daemon)
  let nextScrape = 0
  let died = null
  let last = first
  let lastPoll = firstPoll
  while (Date.now() - started < seconds * 1000) {
    const t = (Date.now() - started) / 1000
    if (daemon.proc.child.exitCode !== null || daemon.proc.child.signalCode !== null) {
      died = { at_s: round(t, 1), code: daemon.proc.child.exitCode, signal: daemon.proc.child.signalCode, stderr_tail: daemon.proc.stderr().slice(-1500) }
      break
    }
    try {
      if (t >= nextScrape) {
        await scrape(daemon)
        nextScrape += 15
      }
      last = procStats(pid)
      lastPoll = await pollStats(daemon)
      samples.push({ t, ...last })
    } catch (e) {
      if (daemon.proc.child.exitCode === null && daemon.proc.child.signalCode === null) throw e
    }
    await sleep(1000)
  }
  const simStats = procStats(sim.proc.pid)
  await daemon.proc.stop()
  await sim.proc.stop()

  const rss = samples.map((s) => s.rss).sort((a, b) => a - b)
  // CPU over sliding 10s windows (one poll interval): the busiest one is the cycle burst
  let peakCores = 0
  for (let i = 0; i < samples.length; i++) {
    const j = samples.findIndex((s) => s.t >= samples[i].t + 10)
    if (j < 0) break
    peakCores = Math.max(peakCores, (samples[j].cpuSeconds - samples[i].cpuSeconds) / (samples[j].t - samples[i].t))
  }
  const cycles = lastPoll.count - firstPoll.count
  return {
    apps,
    died,
    cvms: apps * 2,
    seconds,
    cycles,
    mean_cycle_seconds: cycles > 0 ? round((lastPoll.sum - firstPoll.sum) / cycles) : null,
    rss_mib: { p50: mib(percentile(rss, 50)), p95: mib(percentile(rss, 95)), max: mib(rss[rss.length - 1]), hwm: mib(last.hwm) },
    cpu_cores: {
      mean: round((last.cpuSeconds - first.cpuSeconds) / Math.max(1, samples[samples.length - 1]?.t ?? 1)),
      peak_10s: round(peakCores)
    },
    simulator_rss_mib: mib(simStats.rss)
  }
}

const results = { machine: machine(), poll_interval: "10s", concurrency: 8, fleets: [] }
console.log(JSON.stringify(results.machine))
try {
  for (const apps of fleets.length > 0 ? fleets : [1000, 5000]) {
    const r = await measure(apps)
    results.fleets.push(r)
    console.log(JSON.stringify(r))
  }
} finally {
  await stopAll()
}
saveResults("sizing.json", results)
