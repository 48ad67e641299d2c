// `npm run build && node bench/config.js`: the cost of checking big config files, and what a reload of one does to
// the daemon. Loopback only, no simulator (the daemon's API URL points at a closed port; no app is declared).
//   1. CPU of the whole check (parseConfig, in this process) for 10,000 and 40,000 unknown keys: the ratio shows
//      the growth (4 = linear; the old loader was quadratic: 16k keys took 7 s)
//   2. the same for a realistic 20,000-app file (about 6 MB) and for 8 MiB of one-line keys (the worst case the size
//      limit lets through), plus `validate` on each, wall clock, as a user sees it
//   3. /healthz latency (every 20 ms) while the daemon reloads each of those two files through POST /-/reload, the
//      reload's duration, and the daemon's peak RSS
// Writes bench/results/config.json.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import {
  freePort, machine, mib, percentile, procStats, ROOT, round, saveResults, sleep, spawnCli, stopAll, tempDir, waitFor
} from "./lib.js"

const { Effect } = await import("effect")
const { parseConfig } = await import(join(ROOT, "dist", "Config", "Load.js"))

const log = (...args) => console.error("[bench config]", ...args)
const dir = tempDir()

const unknownKeys = (n) => `version: 1\napi:\n  api_key: k\napps: []\n${Array.from({ length: n }, (_, i) => `k${i}: ${i}\n`).join("")}`

const realisticApps = (n) => {
  const lines = ["version: 1", "api:", "  api_key: k", "  timeout: 10s", "poll:", "  interval: 30s", "apps:"]
  for (let i = 0; i < n; i++) {
    lines.push(
      `  - app_id: ${i.toString(16).padStart(40, "0")}`,
      `    name: app-${i}`,
      `    labels: { team: team-${i % 50}, env: prod }`,
      "    replicas: { min: 1, max: 3 }",
      "    status: running",
      "    cvm:",
      "      instance_type: tdx.large",
      "      vcpu: 4",
      "      memory_mb: 8192",
      "      region: EU-WEST-1",
      "    severity: critical",
      "    for: 1m"
    )
  }
  // one unset variable at the end: every phase runs over the whole file, and the reload is rejected (no cycle follows)
  lines.push("state_dir: ${BENCH_UNSET_VARIABLE}")
  return `${lines.join("\n")}\n`
}

const worstCase = () => {
  const lines = ["version: 1", "apps: []"]
  let size = 20
  for (let i = 0; size < 8 * 1024 * 1024 - 32; i++) {
    const line = `k${i}: ${i}`
    lines.push(line)
    size += line.length + 1
  }
  return `${lines.join("\n")}\n`
}

const cpuOfCheck = async (text) => {
  const start = process.cpuUsage()
  const t0 = Date.now()
  const result = await Effect.runPromise(Effect.either(parseConfig(text, "bench.yaml", {}, () => Effect.fail("none"))))
  const used = process.cpuUsage(start)
  const errors = result._tag === "Left" ? result.left.diagnostics.length + result.left.omitted : 0
  return { cpu_s: round((used.user + used.system) / 1e6, 2), wall_s: round((Date.now() - t0) / 1000, 2), errors }
}

const results = { machine: machine(), started_at: new Date().toISOString(), scaling: null, files: [], reloads: [] }
// BENCH_CONFIG_PARTS=reloads runs part 3 only
const parts = (process.env.BENCH_CONFIG_PARTS ?? "scaling,files,reloads").split(",")

// 1. scaling
if (parts.includes("scaling")) {
  await cpuOfCheck(unknownKeys(2_000))
  const small = await cpuOfCheck(unknownKeys(10_000))
  const large = await cpuOfCheck(unknownKeys(40_000))
  results.scaling = { keys_10k: small, keys_40k: large, cpu_ratio: round(large.cpu_s / small.cpu_s, 2) }
  log("scaling", results.scaling)
}

// 2. big files
const files = [
  { name: "20000 apps", text: realisticApps(20_000) },
  { name: "8 MiB of one-line keys", text: worstCase() }
]
for (const file of parts.includes("files") ? files : []) {
  const path = join(dir, `${file.name.replace(/\W+/g, "-")}.yaml`)
  writeFileSync(path, file.text)
  const inProcess = await cpuOfCheck(file.text)
  const t0 = Date.now()
  const validate = spawnCli(["validate", "--config", path])
  await new Promise((resolve) => validate.child.once("exit", resolve))
  const entry = {
    file: file.name,
    bytes: Buffer.byteLength(file.text),
    check_in_process: inProcess,
    validate_wall_s: round((Date.now() - t0) / 1000, 2),
    validate_last_line: validate.stdout().trim().split("\n").at(-1)?.slice(0, 160)
  }
  results.files.push(entry)
  log("file", entry)
}

// 3. reloads under a daemon
const port = await freePort()
const base = `http://127.0.0.1:${port}`
const configPath = join(dir, "desired.yaml")
const small = "version: 1\napi:\n  api_key: k\n  url: http://127.0.0.1:1/api/v1\npoll:\n  interval: 1h\nserver:\n  lifecycle: true\napps: []\n"
writeFileSync(configPath, small)
const daemon = spawnCli(["serve", "--config", configPath, "--listen", `127.0.0.1:${port}`])
await waitFor("daemon", async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 120_000)
for (const file of parts.includes("reloads") ? files : []) {
  writeFileSync(configPath, file.text)
  const latencies = []
  const failures = []
  let done = false
  const t0 = Date.now()
  const reload = fetch(`${base}/-/reload`, { method: "POST" }).then(async (r) => ({ status: r.status, body: await r.json() }))
    .catch((e) => ({ status: null, body: {}, error: String(e.cause ?? e) }))
    .finally(() => { done = true })
  while (!done) {
    const sent = performance.now()
    try {
      await fetch(`${base}/healthz`)
      latencies.push(performance.now() - sent)
    } catch (e) {
      failures.push(String(e.cause ?? e).slice(0, 120))
    }
    await sleep(20)
  }
  const answer = await reload
  const sorted = [...latencies].sort((a, b) => a - b)
  const entry = {
    file: file.name,
    reload_status: answer.status,
    reload_failure: answer.error ?? null,
    daemon_alive: daemon.child.exitCode === null && daemon.child.signalCode === null,
    healthz_failures: failures.length,
    healthz_failure_sample: failures[0] ?? null,
    reload_error_count: answer.body.error_count ?? null,
    reload_s: round((Date.now() - t0) / 1000, 2),
    healthz_count: sorted.length,
    healthz_ms: { p50: round(percentile(sorted, 50), 1), p99: round(percentile(sorted, 99), 1), max: round(sorted.at(-1) ?? 0, 1) },
    daemon_peak_rss_mib: mib(procStats(daemon.pid).hwm)
  }
  results.reloads.push(entry)
  log("reload", entry)
  writeFileSync(configPath, small)
  await fetch(`${base}/-/reload`, { method: "POST" })
}
await stopAll()

saveResults("config.json", results)
console.log(JSON.stringify(results, null, 2))
