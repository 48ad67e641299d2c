import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  cleanEnv,
  fixture,
  type Proc,
  runCli,
  type Simulator,
  sleep,
  spawnCli,
  startServe,
  startSimulator,
  stopAll,
  tempDir,
  testConfigHead,
  waitFor,
  writeTemp
} from "./support/harness.js"

const KEY = "phak_e2e_daemon_7f3a9c21"
const APP1 = "b000000000000000000000000000000000000001"
const APP2 = "b000000000000000000000000000000000000002"

const goodConfig = (apps: ReadonlyArray<string>, extra = "") =>
  [
    ...testConfigHead,
    "server:",
    "  lifecycle: true",
    extra,
    "apps:",
    ...apps.map((id) => `  - app_id: ${id}`),
    ""
  ].join("\n")

/** Billion laughs: nine levels of ten aliases each, a few hundred bytes that expand to 10^9 nodes. */
const aliasBomb = [
  "version: 1",
  "apps: []",
  "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]",
  ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(", ")}]`),
  ""
].join("\n")

/** A config of `n` unknown one-character-ish keys: seconds to parse, instant to write. */
const manyKeys = (n: number) => `version: 1\napps: []\n${Array.from({ length: n }, (_, i) => `k${i}: ${i}\n`).join("")}`

const validateEnv = cleanEnv({ PHALA_CLOUD_API_KEY: KEY })
const validate = (path: string, output: "text" | "json" = "text") =>
  runCli(["validate", "--config", path, "--output", output], validateEnv)

// one directory for every file of this suite, removed afterwards: some are megabytes
const dir = tempDir("phala-drift-config-trust-")
const temp = (name: string, content: string) => writeTemp(name, content, mkdtempSync(join(dir, "case-")))

afterAll(async () => {
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
})

// every CLI run starts a Node process: seconds each on a loaded machine
const slow = { timeout: 180_000 }

describe("validate on hostile files", slow, () => {
  it("reports an alias bomb as one diagnostic with file:line:col, never a raw fatal line", async () => {
    const path = temp("bomb.yaml", aliasBomb)
    const text = await validate(path)
    expect(text.code).toBe(1)
    expect(text.stdout).toMatch(new RegExp(`^${path}:\\d+:\\d+: a\\d\\[\\d\\]: YAML aliases expand the file by more than [\\d,]+ nodes`, "m"))
    expect(text.stdout).toContain(`${path}: invalid (1 error)`)
    expect(text.stderr).not.toContain("fatal")
    const json = await validate(path, "json")
    expect(json.code).toBe(1)
    const report = JSON.parse(json.stdout) as { valid: boolean; errors: Array<{ line: number; message: string }>; error_count: number }
    expect(report.valid).toBe(false)
    expect(report.error_count).toBe(1)
    expect(report.errors[0]?.line).toBeGreaterThan(1)
  })

  it("reads at most the size limit: a larger file, or /dev/zero, is one diagnostic", async () => {
    const big = temp("big.yaml", `version: 1\napps: []\n# ${"x".repeat(8 * 1024 * 1024)}\n`)
    for (const path of [big, "/dev/zero"]) {
      const result = await validate(path)
      expect(result.code, path).toBe(1)
      expect(result.stdout).toContain(`${path}:1:1: the file is larger than 8 MiB; not read`)
    }
  })

  it("lists the first 100 of 20,000 unknown keys and counts the rest", async () => {
    const result = await validate(temp("keys.yaml", manyKeys(20_000)))
    expect(result.code).toBe(1)
    const lines = result.stdout.trim().split("\n")
    expect(lines).toHaveLength(102)
    expect(lines[0]).toMatch(/:3:1: k0: unknown key "k0"$/)
    expect(lines[100]).toBe("… and 19900 more errors")
    expect(lines[101]).toMatch(/: invalid \(20000 errors\)$/)
  })

  it("stops at once on SIGTERM while checking a big file, without printing a verdict", async () => {
    const path = temp("huge.yaml", manyKeys(400_000))
    const proc = spawnCli(["validate", "--config", path], cleanEnv({ PHALA_CLOUD_API_KEY: KEY, LOG_LEVEL: "debug" }))
    await waitFor("the check to start", async () => (proc.stderr().includes("checking the config in a worker thread") ? true : undefined), 60_000)
    const sent = Date.now()
    const code = await proc.stop("SIGTERM")
    expect(Date.now() - sent).toBeLessThan(8_000)
    expect(code).toBe(143)
    expect(proc.stdout()).toBe("")
  })

  it("points a syntax error at the unclosed bracket or quote", async () => {
    const path = temp("unclosed.yaml", `version: 1\napps:\n  - app_id: ${APP1}\n    replicas: [1, 2\n    status: running\n`)
    const result = await validate(path)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`${path}:4:15: YAML syntax error: this [ is never closed`)
    const quote = temp("quote.yaml", `version: 1\nstate_dir: "./data\napps: []\n`)
    expect((await validate(quote)).stdout).toContain(`${quote}:2:12: YAML syntax error: this " is never closed`)
  })
})

describe("validate never echoes secrets", slow, () => {
  const secret = "phak_live_Zx81bQ4mN2pL7cV9sD3f"
  it("a key file or .env given as --config", async () => {
    for (const content of [`${secret}\n`, `PHALA_CLOUD_API_KEY=${secret}\nDB_PASSWORD=hunter2-correct-horse\n`]) {
      const path = temp("secrets.env", content)
      for (const output of ["text", "json"] as const) {
        const result = await validate(path, output)
        expect(result.code).toBe(1)
        expect(result.stdout).toContain("must be a mapping")
        expect(result.stdout + result.stderr).not.toContain(secret)
        expect(result.stdout + result.stderr).not.toContain("hunter2")
      }
    }
  })

  it("URL credentials anywhere (api.url, Alertmanager, webhook, env override) are rejected without being shown", async () => {
    const password = "s3cr3t-pa55word"
    const config = [
      "version: 1",
      "api:",
      `  url: https://ops:${password}@api.example.com/api/v1`,
      "alerting:",
      "  receivers:",
      `    - { name: am, type: alertmanager, urls: ["http://admin:${password}@127.0.0.1:9093"] }`,
      `    - { name: hook, type: webhook, url: "https://u:${password}@hooks.example.com/x" }`,
      "  default_receivers: [am]",
      "apps: []",
      ""
    ].join("\n")
    const path = temp("userinfo.yaml", config)
    const env = cleanEnv({ PHALA_CLOUD_API_KEY: KEY })
    for (const output of ["text", "json"] as const) {
      const result = await runCli(["validate", "--config", path, "--output", output], env)
      expect(result.code).toBe(1)
      expect(result.stdout).toContain("must not contain a user name or password")
      expect(result.stdout.match(/must not contain a user name or password/g)).toHaveLength(3)
      expect(result.stdout + result.stderr).not.toContain(password)
    }
    const override = await runCli(
      ["validate", "--config", temp("plain.yaml", goodConfig([APP1]))],
      cleanEnv({ PHALA_CLOUD_API_KEY: KEY, PHALA_CLOUD_API_URL: `https://x:${password}@api.example.com/api/v1` })
    )
    expect(override.code).toBe(1)
    expect(override.stdout).toContain("environment variable PHALA_CLOUD_API_URL: must not contain a user name or password")
    expect(override.stdout + override.stderr).not.toContain(password)
  })

  it("a megabyte-long value gives a short line", async () => {
    const path = temp("long.yaml", `version: 1\napps:\n  - app_id: ${APP1}\n    status: ${"x".repeat(1024 * 1024)}\n`)
    const result = await validate(path)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`apps[0].status: must be one of running, stopped, got "${"x".repeat(60)}…" (1048576 characters)`)
    for (const line of result.stdout.split("\n")) expect(line.length).toBeLessThan(400)
  })
})

describe("validate: bounds and warnings", slow, () => {
  it("bounds every duration", async () => {
    const path = temp("absurd.yaml", goodConfig([APP1]).replace("interval: 1s", "interval: 700000000h"))
    const result = await validate(path)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`${path}:7:13: poll.interval: must be at most 24h, got "700000000h"`)
  })

  it("warns, and still exits 0, when api.timeout leaves no room for the poll interval", async () => {
    const path = temp("slow.yaml", goodConfig([APP1]).replace("timeout: 5s", "timeout: 30s").replace("interval: 1s", "interval: 30s"))
    const text = await validate(path)
    expect(text.code).toBe(0)
    expect(text.stdout).toContain(`${path}: warning: api.timeout: a request may take as long as the poll interval`)
    expect(text.stdout).toContain(`${path}: valid (1 app`)
    const json = await validate(path, "json")
    expect(json.code).toBe(0)
    const report = JSON.parse(json.stdout) as { valid: boolean; warnings: Array<{ path: string; message: string }> }
    expect(report.valid).toBe(true)
    expect(report.warnings.map((w) => w.path)).toEqual(["api.timeout"])
    const fine = await validate(temp("fine.yaml", goodConfig([APP1]).replace("interval: 1s", "interval: 30s")), "json")
    expect((JSON.parse(fine.stdout) as { warnings: ReadonlyArray<unknown> }).warnings).toEqual([])
  })
})

describe("serve: reloads survive hostile files", slow, () => {
  let sim: Simulator
  let daemon: Proc
  let base: string
  let configPath: string
  const metrics = async () => (await fetch(`${base}/metrics`)).text()
  const reloadOk = async () => /^phala_drift_config_last_reload_successful (\d)$/m.exec(await metrics())?.[1]
  const write = (text: string) => writeFileSync(configPath, text)

  beforeAll(async () => {
    sim = await startSimulator(fixture("e2e", "daemon.scenario.yaml"))
    configPath = join(mkdtempSync(join(dir, "serve-")), "desired.yaml")
    write(goodConfig([APP1]))
    // debug: the log says when a big file's check has begun in the worker thread
    const started = await startServe(configPath, cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY, LOG_LEVEL: "debug" }))
    daemon = started.proc
    base = started.base
  }, 120_000)

  it("logs config warnings at start-up", () => {
    expect(daemon.stderr()).toContain("config warning: api.timeout: a request may take as long as the poll interval (api.timeout 5s, poll.interval 1s)")
  })

  it("rejects an alias bomb written over the file, logs it, and still loads the next good edit", async () => {
    write(aliasBomb)
    await waitFor("reload rejected", async () => ((await reloadOk()) === "0" ? true : undefined), 20_000, 200)
    expect(daemon.stderr()).toContain("config reload rejected; the previous config stays in force")
    expect(daemon.stderr()).toMatch(/desired\.yaml:\d+:\d+: a\d\[\d\]: YAML aliases expand the file by more than [\d,]+ nodes/)
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    write(goodConfig([APP1, APP2]))
    await waitFor("good edit loaded", async () => ((await reloadOk()) === "1" ? true : undefined), 20_000, 200)
    await waitFor("second app monitored", async () => ((await metrics()).includes(`app_id="${APP2}"`) ? true : undefined))
  })

  it("logs every SIGHUP and its outcome", async () => {
    write(aliasBomb)
    daemon.child.kill("SIGHUP")
    await waitFor("SIGHUP rejected", async () =>
      /SIGHUP received: reloading the config[\s\S]*config reload rejected[^\n]*"reason":"SIGHUP"/.test(daemon.stderr()) ? true : undefined)
    write(goodConfig([APP1, APP2]))
    const reloadedOnHangup = () => (daemon.stderr().match(/"config reloaded"[^\n]*"reason":"SIGHUP"/g) ?? []).length
    const before = reloadedOnHangup()
    daemon.child.kill("SIGHUP")
    await waitFor("SIGHUP reloaded", async () => (reloadedOnHangup() > before ? true : undefined))
  })

  it("POST /-/reload answers 400 with the diagnostics, never a stack trace", async () => {
    write(aliasBomb)
    const response = await fetch(`${base}/-/reload`, { method: "POST" })
    expect(response.status).toBe(400)
    const body = await response.text()
    const parsed = JSON.parse(body) as { status: string; errors: Array<string>; error_count: number; diagnostics: Array<{ line: number }> }
    expect(parsed.status).toBe("rejected")
    expect(parsed.error_count).toBe(1)
    expect(parsed.errors[0]).toMatch(/desired\.yaml:\d+:\d+: .*YAML aliases expand the file/)
    expect(parsed.diagnostics[0]?.line).toBeGreaterThan(1)
    expect(body).not.toMatch(/\bat \S+ \(|\.js:\d+/)
    write(goodConfig([APP1, APP2]))
    expect((await fetch(`${base}/-/reload`, { method: "POST" })).status).toBe(200)
  })

  it("warns that state_dir and server.tls changes need a restart", async () => {
    write(goodConfig([APP1, APP2], `  tls: { cert_file: ${fixture("tls", "test-only.crt")}, key_file: ${fixture("tls", "test-only.key")} }\nstate_dir: ${join(dir, "elsewhere")}`))
    expect((await fetch(`${base}/-/reload`, { method: "POST" })).status).toBe(200)
    expect(daemon.stderr()).toContain("state_dir changed: takes effect after a restart")
    expect(daemon.stderr()).toContain("server.tls changed: takes effect after a restart")
    write(goodConfig([APP1, APP2]))
    expect((await fetch(`${base}/-/reload`, { method: "POST" })).status).toBe(200)
  })

  it("keeps answering /healthz while a big file is checked", async () => {
    // big enough to take seconds, small enough that the reload answers before the server's 30 s idle-socket limit
    // on a loaded machine (docs/failure-modes.md)
    write(manyKeys(60_000))
    const latencies: Array<number> = []
    let reloading = true
    const reload = fetch(`${base}/-/reload`, { method: "POST" }).finally(() => {
      reloading = false
    })
    while (reloading) {
      const sent = Date.now()
      const health = await fetch(`${base}/healthz`)
      if (reloading) latencies.push(Date.now() - sent)
      expect(health.status).toBe(200)
      await sleep(50)
    }
    const response = await reload
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error_count: number }).error_count).toBe(60_000)
    // answered throughout: several quick answers while the reload was still running
    expect(latencies.filter((ms) => ms < 1_000).length).toBeGreaterThanOrEqual(3)
    write(goodConfig([APP1, APP2]))
  })

  it("exits promptly on SIGTERM in the middle of checking a big file", async () => {
    const workerChecks = () => (daemon.stderr().match(/checking the config in a worker thread/g) ?? []).length
    const before = workerChecks()
    write(manyKeys(400_000))
    const reload = fetch(`${base}/-/reload`, { method: "POST" }).catch(() => null)
    await waitFor("the check of the big file to begin", async () => (workerChecks() > before ? true : undefined), 60_000)
    const sent = Date.now()
    const code = await daemon.stop("SIGTERM")
    expect(Date.now() - sent).toBeLessThan(8_000)
    expect(code).toBe(0)
    const response = await reload
    if (response !== null) expect(response.status).toBe(503)
  })
})
