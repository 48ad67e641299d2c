import { renameSync, writeFileSync } from "node:fs"
import { execFileSync } from "node:child_process"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import {
  cleanEnv,
  type Daemon,
  type Proc,
  type Simulator,
  spawnCli,
  startServe,
  startSimulator,
  stopAll,
  tempDir,
  waitFor,
  writeTemp
} from "./support/harness.js"
import { type SilentServer, startSilentServer } from "./support/silent-server.js"
import { slowClient } from "./support/slow-client.js"

const KEY = "phak_e2e_signals_61c0d9e4"
const STEADY = "d000000000000000000000000000000000000001"
const STOPPED = "d000000000000000000000000000000000000002"

const scenario = [
  `api_keys: [${KEY}]`,
  "transition_delay: 1s",
  "apps:",
  `  - app_id: ${STEADY}`,
  "    name: steady",
  "    cvms: [{ name: steady-0, status: running }]",
  `  - app_id: ${STOPPED}`,
  "    name: stopped",
  "    cvms: [{ name: stopped-0, status: stopped }]",
  ""
].join("\n")

interface Options {
  readonly apps: ReadonlyArray<string>
  readonly interval?: string
  readonly lifecycle?: boolean
  readonly alerting?: ReadonlyArray<string>
}

/** API timeout 30 s: a hang lasts far longer than any shutdown may take. */
const desired = (options: Options) =>
  [
    "version: 1",
    "api:",
    "  api_key: ${PHALA_CLOUD_API_KEY}",
    "  timeout: 30s",
    "  retries: 0",
    "poll:",
    `  interval: ${options.interval ?? "1s"}`,
    "server:",
    `  lifecycle: ${String(options.lifecycle ?? false)}`,
    "defaults:",
    "  for: 0s",
    ...(options.alerting ?? []),
    "apps:",
    ...options.apps.map((id) => `  - app_id: ${id}\n    replicas: 1`),
    ""
  ].join("\n")

let sim: Simulator
const env = () => cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY })
const silent: Array<SilentServer> = []

beforeAll(async () => {
  sim = await startSimulator(writeTemp("signals.scenario.yaml", scenario))
})
afterAll(async () => {
  for (const s of silent) await s.close()
  await stopAll()
})
beforeEach(async () => {
  expect((await sim.admin("POST", "/_sim/reset")).ok).toBe(true)
  await sim.admin("DELETE", "/_sim/requests")
})

const hang = async (appId: string) => {
  expect((await sim.admin("PUT", `/_sim/apps/${appId}/faults`, { hang: true })).ok).toBe(true)
}

/** Resolves once the simulator holds a request for `appId` open: the caller is stuck mid-cycle. */
const requestHangs = (appId: string) =>
  waitFor(`a hanging request for ${appId}`, async () => {
    const log = (await (await sim.admin("GET", `/_sim/requests?app_id=${appId}`)).json()) as { requests: ReadonlyArray<{ outcome: string }> }
    return log.requests.some((r) => r.outcome === "pending") ? true : undefined
  }, 30_000)

/** Puts a FIFO in place of `path`. */
const fifo = (path: string) => {
  const made = join(tempDir(), "fifo")
  execFileSync("mkfifo", [made])
  renameSync(made, path)
}

const stopTimed = async (proc: Proc, signal: NodeJS.Signals = "SIGTERM") => {
  const started = performance.now()
  const code = await proc.stop(signal)
  return { code, ms: performance.now() - started }
}

const serve = async (config: string, waitReady = true): Promise<Daemon & { readonly configPath: string }> => {
  const dir = tempDir()
  const configPath = join(dir, "desired.yaml")
  writeFileSync(configPath, config)
  const daemon = await startServe(configPath, env(), { args: ["--state-dir", join(dir, "state")], readyPath: waitReady ? "/readyz" : "/healthz" })
  return { ...daemon, configPath }
}

// The promise is one second; a 2-core machine running the suite at load 15 needed 1.7 s. A shutdown that waits on
// a hang takes 30 s, so 3 s still tells the two apart.
const promptly = 3_000

describe("plan interrupted", () => {
  it.each([["SIGTERM", 143], ["SIGINT", 130]] as const)("by %s while the API hangs: exit %i, nothing on stdout, a note on stderr", async (signal, code) => {
    await hang(STEADY)
    const path = writeTemp("desired.yaml", desired({ apps: [STEADY] }))
    const plan = spawnCli(["plan", "--config", path, "--output", "json"], env())
    await requestHangs(STEADY)
    const stopped = await stopTimed(plan, signal)
    expect(stopped.code).toBe(code)
    expect(stopped.ms).toBeLessThan(promptly)
    expect(plan.stdout()).toBe("")
    expect(plan.stderr()).toContain(`interrupted by ${signal} before finishing: no result (exit ${code})`)
  }, 60_000)
})

describe("serve exits 0 within a second of SIGTERM, whatever hangs", () => {
  it("the API hangs mid-cycle (and SIGINT is a clean shutdown too)", async () => {
    await hang(STEADY)
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      await sim.admin("DELETE", "/_sim/requests")
      const daemon = await serve(desired({ apps: [STEADY] }), false)
      await requestHangs(STEADY)
      const stopped = await stopTimed(daemon.proc, signal)
      expect(stopped.code, signal).toBe(0)
      expect(stopped.ms, signal).toBeLessThan(promptly)
    }
  }, 120_000)

  it.each([
    ["Alertmanager", (url: string) => `{ name: r, type: alertmanager, urls: ["${url}"], timeout: 30s }`],
    ["a webhook receiver", (url: string) => `{ name: r, type: webhook, url: "${url}/hook", timeout: 30s }`]
  ] as const)("%s accepts the connection and never answers", async (_, receiver) => {
    const silentReceiver = await startSilentServer()
    silent.push(silentReceiver)
    const daemon = await serve(desired({
      apps: [STOPPED],
      alerting: ["alerting:", `  receivers: [${receiver(silentReceiver.url)}]`, "  default_receivers: [r]"]
    }))
    await waitFor("a delivery to the silent receiver", async () => (silentReceiver.connections() > 0 ? true : undefined), 30_000)
    const stopped = await stopTimed(daemon.proc)
    expect(stopped.code).toBe(0)
    expect(stopped.ms).toBeLessThan(promptly)
  }, 60_000)

  it("a config reload meets a FIFO (the file itself, or a secret file it names) instead of blocking on it", async () => {
    const dir = tempDir()
    const tokenFile = join(dir, "token")
    writeFileSync(tokenFile, "a-token-from-a-file\n")
    const withToken = (apps: ReadonlyArray<string>) =>
      desired({ apps }).replace("server:\n", `server:\n  auth: { bearer_token_file: ${tokenFile} }\n`)
    const daemon = await serve(withToken([STEADY]), false)
    const rejected = () => (daemon.proc.stderr().match(/"config reload rejected[^\n]*not a regular file/g) ?? []).length

    // a FIFO blocks a reader until a writer comes: the old daemon's reload hung there, and SIGTERM with it
    fifo(tokenFile)
    writeFileSync(daemon.configPath, withToken([STEADY, STOPPED]))
    daemon.proc.child.kill("SIGHUP")
    await waitFor("the reload rejected for the secret file", async () => (rejected() >= 1 ? true : undefined), 30_000)
    fifo(daemon.configPath)
    daemon.proc.child.kill("SIGHUP")
    await waitFor("the reload rejected for the config file", async () => (rejected() >= 2 ? true : undefined), 30_000)
    expect((await fetch(`${daemon.base}/healthz`)).status).toBe(200)

    const stopped = await stopTimed(daemon.proc)
    expect(stopped.code).toBe(0)
    expect(stopped.ms).toBeLessThan(promptly)
  }, 60_000)

  it("a POST /-/reconcile waits on a cycle whose API hangs", async () => {
    const daemon = await serve(desired({ apps: [STEADY], interval: "1h", lifecycle: true }))
    await hang(STEADY)
    await sim.admin("DELETE", "/_sim/requests")
    const pending = fetch(`${daemon.base}/-/reconcile`, { method: "POST" }).then((r) => r.status, () => "aborted")
    await requestHangs(STEADY)
    const stopped = await stopTimed(daemon.proc)
    expect(stopped.code).toBe(0)
    expect(stopped.ms).toBeLessThan(promptly)
    // the request gets an answer or a closed connection, never a hang
    expect(await pending).not.toBe(200)
  }, 60_000)

  it("a client is trickling its request headers", async () => {
    const daemon = await serve(desired({ apps: [STEADY] }))
    const trickle = slowClient(daemon.port)
    await waitFor("headers under way", async () => (trickle.sent() > 40 ? true : undefined), 30_000)
    const stopped = await stopTimed(daemon.proc)
    trickle.stop()
    expect(stopped.code).toBe(0)
    expect(stopped.ms).toBeLessThan(promptly)
  }, 60_000)
})
