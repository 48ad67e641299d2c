import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { imageConfig, parseDockerfile } from "../../support/dockerfile.js"

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url))
export const MAIN = join(ROOT, "dist", "main.js")
export const fixture = (...parts: ReadonlyArray<string>): string => join(ROOT, "test", "fixtures", ...parts)

/** The node flags of the image's entry point (`node <flags> dist/main.js`), to run the CLI as the container does. */
export const imageNodeFlags: ReadonlyArray<string> = (() => {
  const entrypoint = imageConfig(parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"))).entrypoint
  return entrypoint.slice(1, entrypoint.indexOf("dist/main.js"))
})()

/** Environment for child processes: the caller's, minus anything that would change the CLI's behaviour. */
export const cleanEnv = (extra: Record<string, string | undefined> = {}): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...process.env, ...extra })) {
    if (v === undefined) continue
    if (k.startsWith("PHALA_") && !(k in extra)) continue
    env[k] = v
  }
  env["NO_COLOR"] = extra["NO_COLOR"] ?? "1"
  env["LOG_FORMAT"] = extra["LOG_FORMAT"] ?? "json"
  return env
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

export const tempDir = (prefix = "phala-drift-e2e-"): string => mkdtempSync(join(tmpdir(), prefix))

export const writeTemp = (name: string, content: string, dir = tempDir()): string => {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

export interface Proc {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exit: Promise<number | null>
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

const running = new Set<Proc>()

export const spawnCli = (args: ReadonlyArray<string>, env: Record<string, string> = cleanEnv(), cwd = ROOT, nodeFlags: ReadonlyArray<string> = []): Proc => {
  const child = spawn(process.execPath, [...nodeFlags, MAIN, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  let err = ""
  child.stdout?.setEncoding("utf8").on("data", (d: string) => { out += d })
  child.stderr?.setEncoding("utf8").on("data", (d: string) => { err += d })
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const proc: Proc = {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      const code = await exit
      clearTimeout(timer)
      running.delete(proc)
      return code
    }
  }
  running.add(proc)
  void exit.then(() => running.delete(proc))
  return proc
}

export const stopAll = async (): Promise<void> => {
  await Promise.all([...running].map((p) => p.stop("SIGKILL")))
}

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export const runCli = async (args: ReadonlyArray<string>, env: Record<string, string> = cleanEnv(), cwd = ROOT): Promise<CliResult> => {
  const proc = spawnCli(args, env, cwd)
  const code = await proc.exit
  return { code, stdout: proc.stdout(), stderr: proc.stderr() }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export const waitFor = async <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs = 20_000, everyMs = 100): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (e) {
      last = e
    }
    await sleep(everyMs)
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`)
}

export const httpOk = async (url: string, init?: RequestInit): Promise<Response | undefined> => {
  const response = await fetch(url, init)
  return response.ok ? response : undefined
}

export interface Simulator {
  readonly port: number
  readonly base: string
  readonly apiUrl: string
  readonly proc: Proc
  readonly admin: (method: string, path: string, body?: unknown) => Promise<Response>
}

export const startSimulator = async (scenarioPath: string): Promise<Simulator> => {
  const port = await freePort()
  const proc = spawnCli(["simulate", "--scenario", scenarioPath, "--port", String(port)])
  const base = `http://127.0.0.1:${port}`
  await waitFor("simulator", async () => {
    if (proc.child.exitCode !== null) throw new Error(`simulator exited: ${proc.stderr()}`)
    return httpOk(`${base}/_sim/state`)
  })
  return {
    port,
    base,
    apiUrl: `${base}/api/v1`,
    proc,
    admin: (method, path, body) =>
      fetch(`${base}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
  }
}

export interface Daemon {
  readonly proc: Proc
  readonly port: number
  readonly base: string
}

/** Starts `serve --config F` on a free loopback port and waits until `readyPath` answers 2xx (sent with `headers`). */
/** The head of a desired-state file for tests against the simulator: key from the environment, short timeouts, 1 s poll. */
export const testConfigHead: ReadonlyArray<string> = [
  "version: 1",
  "api:",
  "  api_key: ${PHALA_CLOUD_API_KEY}",
  "  timeout: 5s",
  "  retries: 1",
  "poll:",
  "  interval: 1s"
]

export const startServe = async (
  configPath: string,
  env: Record<string, string>,
  options: {
    readonly args?: ReadonlyArray<string>
    readonly readyPath?: string
    readonly headers?: Record<string, string>
    /** node's own flags, e.g. `imageNodeFlags` */
    readonly nodeFlags?: ReadonlyArray<string>
  } = {}
): Promise<Daemon> => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const readyPath = options.readyPath ?? "/readyz"
  const proc = spawnCli(["serve", "--config", configPath, "--listen", `127.0.0.1:${port}`, ...(options.args ?? [])], env, ROOT, options.nodeFlags ?? [])
  await waitFor(`daemon ${readyPath}`, async () => {
    if (proc.child.exitCode !== null) throw new Error(`daemon exited: ${proc.stderr()}`)
    return (await fetch(`${base}${readyPath}`, { headers: options.headers ?? {} })).ok ? true : undefined
  }, 30_000)
  return { proc, port, base }
}
