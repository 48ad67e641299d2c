// Shared helpers for the benchmarks: child processes (simulator, daemon) on loopback, /proc sampling, machine info.
// Plain ES module, no build step; it drives the built CLI in `dist/` (or PHALA_DRIFT_DIST, for a snapshot build).
import { spawn, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { cpus, tmpdir, totalmem } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const ROOT = fileURLToPath(new URL("..", import.meta.url))
export const DIST = resolve(process.env.PHALA_DRIFT_DIST ?? join(ROOT, "dist"))
export const MAIN = join(DIST, "main.js")
export const HOST = "127.0.0.1"
export const API_KEY = "phak_bench_0123456789"

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export const tempDir = (prefix = "phala-drift-bench-") => mkdtempSync(join(tmpdir(), prefix))

export const freePort = () =>
  new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      server.close(() => resolvePort(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** Polls `probe` until it returns something other than undefined; bounded in time. */
export const waitFor = async (what, probe, timeoutMs = 60_000, everyMs = 100) => {
  const deadline = Date.now() + timeoutMs
  let last
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (e) {
      last = e
    }
    await sleep(everyMs)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`)
}

const children = new Set()

const cliEnv = (extra = {}) => {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PHALA_")) env[k] = v
  // as the container runs it (Dockerfile ENV)
  return { ...env, NO_COLOR: "1", LOG_FORMAT: "json", NODE_ENV: "production", MALLOC_TRIM_THRESHOLD_: "1048576", ...extra }
}

// The CLI's node runs with the flags of the image's entry point (`node --max-semi-space-size=16 dist/main.js`: Node 20's
// default young generation, a quarter of Node 24's), read from the Dockerfile so the two cannot drift apart;
// BENCH_NODE_FLAGS adds flags (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, which NODE_OPTIONS refuses), a later flag wins
const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(ROOT, "Dockerfile"), "utf8"))?.[1] ?? "[]")
const imageNodeFlags = entrypoint.slice(1, entrypoint.indexOf("dist/main.js"))
export const cliFlags = [...imageNodeFlags, ...(process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "")]
export const spawnCli = (args, extraEnv = {}) => spawnNode([...cliFlags, MAIN, ...args], extraEnv)

/** A Node child (a script and its arguments) with the CLI's environment; keeps the tail of its output. */
export const spawnNode = (args, extraEnv = {}) => {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: cliEnv(extraEnv), stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  let err = ""
  // keep only the tail: a long run logs one line per cycle
  child.stdout.setEncoding("utf8").on("data", (d) => { out = (out + d).slice(-20_000) })
  child.stderr.setEncoding("utf8").on("data", (d) => { err = (err + d).slice(-20_000) })
  const exit = new Promise((r) => child.once("exit", (code) => r(code)))
  const proc = {
    child,
    pid: child.pid,
    exit,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      await exit
      clearTimeout(timer)
      children.delete(proc)
    }
  }
  children.add(proc)
  return proc
}

/** The fast stand-in API (`bench/standin.js`) with `apps` apps, answering after `latencyMs`. */
export const startStandin = async (apps, latencyMs) => {
  const proc = spawnNode([join(ROOT, "bench", "standin.js"), "--apps", String(apps), "--latency-ms", String(latencyMs)])
  const info = await waitFor("stand-in", async () => {
    if (proc.child.exitCode !== null) throw new Error(`stand-in exited: ${proc.stderr()}`)
    const line = proc.stdout().split("\n").find((l) => l.startsWith("{"))
    return line === undefined ? undefined : JSON.parse(line)
  }, 120_000, 100)
  const base = `http://${HOST}:${info.port}`
  const ids = await (await fetch(`${base}/_standin/apps`)).json()
  return { proc, base, apiUrl: `${base}/api/v1`, ids }
}

export const stopAll = async () => {
  await Promise.all([...children].map((p) => p.stop()))
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    for (const p of children) p.child.kill("SIGKILL")
    process.exit(130)
  })
}

/** Simulator child process with a synthetic fleet of `apps` × `cvmsPerApp`. Returns its base URL and app ids. */
export const startSimulator = async ({ apps, cvmsPerApp = 2, seed = 42 }) => {
  const dir = tempDir()
  const scenario = join(dir, "scenario.yaml")
  // JSON is YAML
  writeFileSync(scenario, JSON.stringify({
    api_keys: [API_KEY],
    default_version: "2025-10-28",
    synthetic: { apps, cvms_per_app: cvmsPerApp, seed, name_prefix: "bench-app" }
  }))
  const port = await freePort()
  const proc = spawnCli(["simulate", "--scenario", scenario, "--port", String(port), "--host", HOST])
  const base = `http://${HOST}:${port}`
  const state = await waitFor("simulator", async () => {
    if (proc.child.exitCode !== null) throw new Error(`simulator exited: ${proc.stderr()}`)
    const r = await fetch(`${base}/_sim/state`)
    return r.ok ? r.json() : undefined
  })
  const appIds = state.apps.map((a) => a.app_id)
  if (appIds.length !== apps) throw new Error(`simulator has ${appIds.length} apps, expected ${apps}`)
  return { proc, base, apiUrl: `${base}/api/v1`, appIds }
}

/** Sets (or clears, with null) the same faults on every app, `parallel` admin requests at a time. */
export const setFaults = async (sim, faults, parallel = 16) => {
  const queue = [...sim.appIds]
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const r = await fetch(`${sim.base}/_sim/apps/${id}/faults`, {
        method: faults === null ? "DELETE" : "PUT",
        headers: { "content-type": "application/json" },
        ...(faults === null ? {} : { body: JSON.stringify(faults) })
      })
      if (!r.ok && r.status !== 404) throw new Error(`faults for ${id}: ${r.status} ${await r.text()}`)
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
}

/** Daemon child process watching every simulator app (desired: 2 running replicas, so the fleet is in sync). */
export const startDaemon = async (sim, { concurrency = 8, interval = "10s", cvmsPerApp = 2, timeout = "10s", readyTimeoutMs = 180_000, apiFetch = "auto" } = {}) => {
  const port = await freePort()
  const { path: config } = writeFleetConfig({ apiUrl: sim.apiUrl, ids: sim.appIds }, {
    concurrency,
    timeout,
    replicas: cvmsPerApp,
    api: [`fetch: ${apiFetch}`],
    extra: (dir) => ["poll:", `  interval: ${interval}`, "server:", `  listen: ${HOST}:${port}`, `state_dir: ${join(dir, "state")}`]
  })
  const proc = spawnCli(["serve", "--config", config], { PHALA_CLOUD_API_KEY: API_KEY })
  const base = `http://${HOST}:${port}`
  await waitFor("daemon ready", async () => {
    if (proc.child.exitCode !== null) throw new Error(`daemon exited: ${proc.stderr()}`)
    const r = await fetch(`${base}/readyz`)
    return r.ok ? true : undefined
  }, readyTimeoutMs, 100).catch(async (e) => {
    if (proc.child.exitCode === null) e.lastStats = procStats(proc.pid)
    await proc.stop()
    throw e
  })
  return { proc, base, port }
}

/** Value of one unlabelled sample (or the first sample of that name) in an exposition. */
export const sample = (text, name) => {
  const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([^ \\n]+)`, "m"))
  return m === null ? undefined : Number(m[1])
}

export const scrape = async (daemon) => (await fetch(`${daemon.base}/metrics`)).text()

/** Poll-cycle histogram count and sum. */
export const pollStats = async (daemon) => {
  const text = await scrape(daemon)
  return {
    count: sample(text, "phala_drift_poll_duration_seconds_count") ?? 0,
    sum: sample(text, "phala_drift_poll_duration_seconds_sum") ?? 0
  }
}

/** Waits until `cycles` more cycles than `from` have finished; bounded by `timeoutMs`. */
export const waitCycles = (daemon, from, cycles, timeoutMs) =>
  waitFor(`${cycles} reconcile cycles`, async () => {
    const s = await pollStats(daemon)
    return s.count >= from.count + cycles ? s : undefined
  }, timeoutMs, 200)

const clockTicks = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" })
  const n = Number(r.stdout.trim())
  return Number.isFinite(n) && n > 0 ? n : 100
})()

/** RSS (bytes) and CPU seconds (user + system) of a process, from /proc. */
export const procStats = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const rssKb = Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? NaN)
  const hwmKb = Number(status.match(/^VmHWM:\s+(\d+) kB/m)?.[1] ?? NaN)
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // fields after the command name (which may contain spaces) start at field 3
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / clockTicks
  return { rss: rssKb * 1024, hwm: hwmKb * 1024, cpuSeconds }
}

/** The machine's CPU time so far (/proc/stat, all CPUs): total and stolen by the hypervisor, in clock ticks. */
export const cpuTicks = () => {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number)
    return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 }
  } catch {
    return null
  }
}

/**
 * Percent of the machine's CPU time the hypervisor took between two `cpuTicks()` readings: on a shared VM, a phase
 * run while neighbours are busy is slower for reasons that are not the code's, and this says so next to its figures.
 */
export const stealPercent = (from, to) =>
  from === null || to === null || to.total <= from.total ? null : round((100 * (to.steal - from.steal)) / (to.total - from.total), 1)

export const machine = () => {
  const lscpu = spawnSync("lscpu", [], { encoding: "utf8" }).stdout ?? ""
  const nproc = spawnSync("nproc", [], { encoding: "utf8" }).stdout?.trim()
  return {
    nproc: Number(nproc) || cpus().length,
    cpu_model: lscpu.match(/^Model name:\s+(.+)$/m)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown",
    hypervisor: lscpu.match(/^Hypervisor vendor:\s+(.+)$/m)?.[1]?.trim() ?? null,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    cli_node_flags: cliFlags.join(" "),
    platform: `${process.platform}-${process.arch}`
  }
}

export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]

/** Writes `bench/results/<name>`, the machine-readable record of a run. */
export const saveResults = (name, results) => {
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true })
  writeFileSync(join(ROOT, "bench", "results", name), `${JSON.stringify(results, null, 2)}\n`)
}

/** One row of a Markdown table; a missing value shows as a dash. */
export const tableRow = (cells) => `| ${cells.map((c) => String(c ?? "–")).join(" | ")} |`

/** The machine a run was measured on, for the first line of a report. */
export const machineText = (m) =>
  `${m.nproc} cores (${m.cpu_model}${m.hypervisor ? `, ${m.hypervisor}` : ""}), ${m.memory_gib} GiB, Node ${m.node}`

export const mib = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10
export const round = (x, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits

/**
 * A desired state declaring every app of a fleet (`apiUrl` and `ids`: the stand-in, or the simulator's url and app
 * ids) with `replicas` each, in a new temp dir: `api` lines beyond url, key, `concurrency`, `timeout` and no retries,
 * then `extra` top-level lines (or a function of the dir giving them). Returns the dir and the file's path.
 */
export const writeFleetConfig = (standin, { concurrency, timeout = "30s", replicas = 2, api = [], extra = [] }) => {
  const dir = tempDir()
  const path = join(dir, "desired.yaml")
  writeFileSync(path, [
    "version: 1",
    "api:",
    `  url: ${standin.apiUrl}`,
    "  api_key: ${PHALA_CLOUD_API_KEY}",
    `  concurrency: ${concurrency}`,
    `  timeout: ${timeout}`,
    "  retries: 0",
    ...api.map((line) => `  ${line}`),
    ...(typeof extra === "function" ? extra(dir) : extra),
    "defaults:",
    `  replicas: ${replicas}`,
    "apps:",
    ...standin.ids.map((id) => `  - app_id: ${id}`),
    ""
  ].join("\n"))
  return { dir, path }
}
