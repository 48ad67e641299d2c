import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { alertingConfig, PAYMENTS } from "./support/config.js"
import { settled } from "./support/cycles.js"
import { cleanEnv, fixture, freePort, type Proc, runCli, type Simulator, spawnCli, startSimulator, stopAll, tempDir, waitFor } from "./support/harness.js"

// serve + a loopback webhook receiver against hostile state directories and a hostile receiver

const KEY = "phak_e2e_daemon_7f3a9c21"
const REPLICA = "00000000-0000-4000-8000-00000000b102"

interface Received {
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

interface Hook {
  readonly url: string
  readonly received: Array<Received>
  /** 200 (default), 503 (down), or a custom answer. */
  mode: "up" | "down" | ((res: ServerResponse) => void)
}

const servers: Array<Server> = []

const startHook = async (): Promise<Hook> => {
  const hook: Hook = { url: "", received: [], mode: "up" }
  const server = createServer((req, res) => {
    let body = ""
    req.setEncoding("utf8").on("data", (d: string) => { body += d }).on("end", () => {
      const mode = hook.mode
      if (mode === "down") return void res.writeHead(503).end("down")
      hook.received.push({ headers: req.headers, body })
      if (mode === "up") return void res.writeHead(200).end("ok")
      mode(res)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  return Object.assign(hook, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` })
}

const configWith = alertingConfig

const hookAlerting = (url: string) =>
  [
    "alerting:",
    "  resend_interval: 2s",
    `  receivers: [{ name: hook, type: webhook, url: "${url}", timeout: 2s }]`,
    "  default_receivers: [hook]"
  ].join("\n")

const writeConfig = (content: string): string => {
  const path = join(tempDir(), "desired.yaml")
  writeFileSync(path, content)
  return path
}

interface Daemon {
  readonly proc: Proc
  readonly base: string
}

const serveArgs = (configPath: string, stateDir: string, port: number) =>
  ["serve", "--config", configPath, "--listen", `127.0.0.1:${port}`, "--state-dir", stateDir]

const env = () => cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY })

const startDaemon = async (configPath: string, stateDir: string): Promise<Daemon> => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const proc = spawnCli(serveArgs(configPath, stateDir, port), env())
  // generous: the suite runs many processes at once on a small machine
  await waitFor("daemon ready", async () => {
    if (proc.child.exitCode !== null) throw new Error(proc.stderr())
    return (await fetch(`${base}/readyz`)).ok ? true : undefined
  }, 60_000)
  return { proc, base }
}

const serveOnce = async (configPath: string, stateDir: string) =>
  runCli(serveArgs(configPath, stateDir, await freePort()), env())

interface Payload {
  readonly status: string
  readonly alerts: ReadonlyArray<{ readonly labels: Record<string, string> }>
}
const replicaEvents = (hook: Hook) =>
  hook.received
    .map((r) => ({ payload: JSON.parse(r.body) as Payload, id: String(r.headers["x-phala-drift-event-id"]) }))
    .filter(({ payload }) => payload.alerts[0]?.labels["vm_uuid"] === REPLICA)
    .map(({ id, payload }) => ({ status: payload.status, id }))

const metric = async (d: Daemon, name: string): Promise<number> => {
  const text = await (await fetch(`${d.base}/metrics`)).text()
  const value = new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]
  return value === undefined ? Number.NaN : Number(value)
}

const setReplica = async (status: string) => {
  const r = await sim.admin("PUT", `/_sim/apps/${PAYMENTS}/cvms/${REPLICA}/status`, { status })
  expect(r.ok).toBe(true)
}

const awaitEvents = (hook: Hook, n: number, timeoutMs = 60_000) =>
  waitFor(`${n} notifications`, async () => (replicaEvents(hook).length >= n ? true : undefined), timeoutMs, 200)

/** A few more cycles and an empty outbox: anything extra would have been queued and sent by then. */
const settle = (d: Daemon) => settled(d.base, "hook")

let sim: Simulator

beforeAll(async () => {
  sim = await startSimulator(fixture("e2e", "daemon.scenario.yaml"))
})
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections()
    s.close()
  }
  await stopAll()
})

describe("an unusable state_dir at start", () => {
  it("is a start-up error naming the path when alerting needs it, and no concern without alerting", async () => {
    const hook = await startHook()
    const withAlerting = writeConfig(configWith(hookAlerting(hook.url)))
    const base = tempDir()
    const file = join(base, "state")
    writeFileSync(file, "a regular file where the state directory should be")
    for (const stateDir of [file, join(file, "below-a-file")]) {
      const result = await serveOnce(withAlerting, stateDir)
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(`cannot start: state_dir ${stateDir}: cannot create the directory`)
    }
    // an existing directory that cannot be written: the outbox directory of the receiver is a regular file
    const blocked = tempDir()
    writeFileSync(join(blocked, "outbox"), "in the way")
    const refused = await serveOnce(withAlerting, blocked)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`state_dir ${join(blocked, "outbox", "hook")}`)

    // without alerting nothing needs the directory
    const daemon = await startDaemon(writeConfig(configWith(null)), join(file, "below-a-file"))
    expect(await daemon.proc.stop()).toBe(0)
  }, 300_000)
})

describe("one process per state_dir", () => {
  it("refuses a second process naming the path and the holder, releases on shutdown, takes over after a crash", async () => {
    const hook = await startHook()
    const configPath = writeConfig(configWith(hookAlerting(hook.url)))
    const stateDir = tempDir()
    const lockPath = join(stateDir, "phala-drift.lock")
    const first = await startDaemon(configPath, stateDir)
    const holder = JSON.parse(readFileSync(lockPath, "utf8")) as { pid: number }
    expect(holder.pid).toBe(first.proc.child.pid)

    const second = await serveOnce(configPath, stateDir)
    expect(second.code).toBe(1)
    expect(second.stderr).toContain(`cannot start: state_dir ${stateDir}: in use by another phala-drift process (pid ${holder.pid}`)
    expect(second.stderr).toContain(lockPath)
    // the refused process changed nothing: the first one still holds the lock and works
    expect((JSON.parse(readFileSync(lockPath, "utf8")) as { pid: number }).pid).toBe(holder.pid)
    expect((await fetch(`${first.base}/readyz`)).ok).toBe(true)

    expect(await first.proc.stop()).toBe(0)
    expect(existsSync(lockPath)).toBe(false)

    // a crash leaves the lock behind; its process is gone, so the next start takes over
    const crashed = await startDaemon(configPath, stateDir)
    await crashed.proc.stop("SIGKILL")
    expect(existsSync(lockPath)).toBe(true)
    const next = await startDaemon(configPath, stateDir)
    expect((JSON.parse(readFileSync(lockPath, "utf8")) as { pid: number }).pid).toBe(next.proc.child.pid)
    expect(next.proc.stderr() + next.proc.stdout()).toContain("taking over a stale state_dir lock")
    expect(await next.proc.stop()).toBe(0)
  }, 300_000)
})

describe("state_dir deleted in the middle of an incident", () => {
  it("keeps delivering from memory, says so, writes everything again when the disk is back; every event once, in order", async () => {
    await sim.admin("POST", "/_sim/reset")
    const hook = await startHook()
    const configPath = writeConfig(configWith(hookAlerting(hook.url)))
    const stateDir = join(tempDir(), "state")
    const daemon = await startDaemon(configPath, stateDir)

    await setReplica("stopped")
    await awaitEvents(hook, 1)

    // deleted, and a regular file put in its place so that it cannot simply be recreated
    renameSync(stateDir, `${stateDir}-deleted`)
    writeFileSync(stateDir, "not a directory")

    // the receiver works: the resolution goes out from memory although nothing can be written
    await setReplica("running")
    await awaitEvents(hook, 2)
    expect(await metric(daemon, "phala_drift_state_write_failures_total")).toBeGreaterThan(0)

    // the receiver goes down too: the next incident waits in memory, in order
    hook.mode = "down"
    await setReplica("stopped")
    await waitFor("second incident firing", async () => {
      const alerts = (await (await fetch(`${daemon.base}/api/v1/alerts`)).json()) as { alerts: ReadonlyArray<{ state: string }> }
      return alerts.alerts.some((a) => a.state === "firing") ? true : undefined
    }, 30_000, 200)
    await setReplica("running")
    await waitFor("two notifications held in memory", async () => {
      const page = await (await fetch(`${daemon.base}/`)).text()
      return page.includes("State directory cannot be written") && page.includes("2 notifications are held in memory only")
        ? true
        : undefined
    }, 30_000, 200)
    const logs = daemon.proc.stderr() + daemon.proc.stdout()
    expect(logs).toContain("cannot write the notification outbox; notifications are kept in memory and retried")
    expect(logs).toContain(stateDir)

    // the disk is back: the directory, the outbox items and the lock are written again
    rmSync(stateDir)
    await waitFor("outbox written again", async () => {
      const page = await (await fetch(`${daemon.base}/`)).text()
      return page.includes("writing works again") ? true : undefined
    }, 60_000, 250)
    await waitFor("lock and alert state back", async () =>
      existsSync(join(stateDir, "phala-drift.lock")) && existsSync(join(stateDir, "alerts.json")) ? true : undefined, 30_000, 200)

    hook.mode = "up"
    await awaitEvents(hook, 4)
    await settle(daemon)
    const events = replicaEvents(hook)
    expect(events.map((e) => e.status)).toEqual(["firing", "resolved", "firing", "resolved"])
    expect(new Set(events.map((e) => e.id)).size).toBe(4)

    // nothing left to send after a restart either
    expect(await daemon.proc.stop()).toBe(0)
    const again = await startDaemon(configPath, stateDir)
    await settle(again)
    expect(replicaEvents(hook)).toHaveLength(4)
    expect(await again.proc.stop()).toBe(0)
  }, 400_000)
})

describe("a hostile receiver", () => {
  it("answering with an endless gzip bomb gets its notification once and costs the daemon nothing", async () => {
    await sim.admin("POST", "/_sim/reset")
    const hook = await startHook()
    // 16 KiB of gzip inflating to 16 MiB, sent again and again until the client goes away
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024))
    let bytesSent = 0
    hook.mode = (res) => {
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
      const pump = () => {
        while (!res.destroyed) {
          bytesSent += member.length
          if (!res.write(member)) return void res.once("drain", pump)
        }
      }
      pump()
    }
    const configPath = writeConfig(configWith(hookAlerting(hook.url)))
    const daemon = await startDaemon(configPath, tempDir())
    await setReplica("stopped")
    await awaitEvents(hook, 1)
    await settle(daemon)
    expect(replicaEvents(hook).map((e) => e.status)).toEqual(["firing"])
    expect((await fetch(`${daemon.base}/healthz`)).ok).toBe(true)
    expect(await metric(daemon, "phala_drift_notification_queue_length\\{receiver=\"hook\"\\}")).toBe(0)
    // what a few socket buffers hold, not gigabytes
    expect(bytesSent).toBeLessThan(32 * 1024 * 1024)
    expect(await metric(daemon, "process_resident_memory_bytes")).toBeLessThan(400 * 1024 * 1024)
    expect(await daemon.proc.stop()).toBe(0)
    await setReplica("running")
  }, 300_000)
})

describe("a truncated alerts.json", () => {
  it("does not re-announce a firing alert with a new event id; its resolution follows with a stable one", async () => {
    await sim.admin("POST", "/_sim/reset")
    const hook = await startHook()
    const configPath = writeConfig(configWith(hookAlerting(hook.url)))
    const stateDir = tempDir()
    const first = await startDaemon(configPath, stateDir)
    await setReplica("stopped")
    await awaitEvents(hook, 1)
    expect(await first.proc.stop()).toBe(0)

    const statePath = join(stateDir, "alerts.json")
    writeFileSync(statePath, readFileSync(statePath, "utf8").slice(0, 40))
    const second = await startDaemon(configPath, stateDir)
    await settle(second)
    // delivery is at-least-once: a shutdown between the send and its acknowledgement re-sends the item after the
    // restart, but always under the same event id, so receivers de-duplicate it; a new id would be a re-announcement
    const distinct = () => [...new Map(replicaEvents(hook).map((e) => [e.id, e.status])).values()]
    expect(distinct()).toEqual(["firing"])

    await setReplica("running")
    await waitFor("the resolution", async () => (distinct().length >= 2 ? true : undefined), 60_000, 200)
    await settle(second)
    expect(distinct()).toEqual(["firing", "resolved"])
    expect(second.proc.stderr() + second.proc.stdout()).toContain("alert state recovered from the announced-alerts ledger")
    expect(await second.proc.stop()).toBe(0)
  }, 300_000)
})
