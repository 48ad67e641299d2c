import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freePort, ROOT, runCli, spawnCli, stopAll, waitFor } from "./support/harness.js"

// What the README says about `npm run demo` is what the demo does: its fleet size and the flags for taken ports.

const readme = readFileSync(join(ROOT, "README.md"), "utf8").replace(/\s+/g, " ")

const taken: Array<Server> = []
afterAll(async () => {
  for (const s of taken) s.close()
  await stopAll()
})

/** A loopback port something else already listens on. */
const takenPort = async (): Promise<number> => {
  const port = await freePort()
  const server = createServer()
  taken.push(server)
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return port
}

/** `demo` on free ports, once its daemon is ready. */
const startDemo = async () => {
  const port = await freePort()
  const simPort = await freePort()
  const demo = spawnCli(["demo", "--port", String(port), "--sim-port", String(simPort)])
  const base = `http://127.0.0.1:${port}`
  await waitFor("demo ready", async () => {
    if (demo.child.exitCode !== null) throw new Error(`demo exited: ${demo.stderr()}`)
    return (await fetch(`${base}/readyz`)).ok ? true : undefined
  }, 30_000, 100)
  return { base, demo, simPort }
}

describe("phala-drift demo", () => {
  it("runs on the ports --port and --sim-port give, with the fleet the README describes", async () => {
    const { base, demo, simPort } = await startDemo()
    expect(demo.stdout()).toContain(`status page   ${base}/`)
    expect(demo.stdout()).toContain(`http://127.0.0.1:${simPort}/api/v1`)

    const plan = (await (await fetch(`${base}/api/v1/plan`)).json()) as { summary: { apps: number }; apps: ReadonlyArray<{ name: string; drifts: ReadonlyArray<{ kind: string }> }> }
    const state = (await (await fetch(`http://127.0.0.1:${simPort}/_sim/state`)).json()) as { apps: ReadonlyArray<{ cvms: ReadonlyArray<unknown> }> }
    const missing = plan.apps.filter((a) => a.drifts.some((d) => d.kind === "missing_app")).map((a) => a.name)
    const cvms = state.apps.reduce((n, a) => n + a.cvms.length, 0)
    expect(missing).toEqual(["legacy-reporting"])
    expect(readme).toContain(
      `${plan.summary.apps} declared apps: ${state.apps.length} of them run in the simulator with ${cvms} CVMs, and one (\`${missing[0]}\`) is declared but does not exist`
    )
    expect(await demo.stop("SIGTERM")).toBe(0)
  }, 60_000)

  it("wires the simulator's webhooks to the daemon: a stop through the admin API is pushed and shown", async () => {
    const { base, demo, simPort } = await startDemo()
    type State = { apps: ReadonlyArray<{ app_id: string; cvms: ReadonlyArray<{ vm_uuid: string; status: string }> }> }
    const state = (await (await fetch(`http://127.0.0.1:${simPort}/_sim/state`)).json()) as State
    const target = state.apps.flatMap((a) => a.cvms.filter((c) => c.status === "running").map((c) => ({ app: a.app_id, cvm: c.vm_uuid })))[0]
    expect(target).toBeDefined()
    if (target === undefined) return
    const put = await fetch(`http://127.0.0.1:${simPort}/_sim/apps/${target.app}/cvms/${target.cvm}/status`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ status: "stopped" })
    })
    expect(put.status).toBe(200)
    await waitFor("the stop, pushed", async () => {
      const text = await (await fetch(`${base}/metrics`)).text()
      const accepted = /^phala_drift_webhook_events_total\{event="cvm\.stopped",result="accepted"\} (\d+)/m.exec(text)
      return text.includes(`vm_uuid="${target.cvm}"`) && text.split("\n").some((l) =>
          l.startsWith("phala_cvm_status{") && l.includes(`vm_uuid="${target.cvm}"`) && l.includes(`status="stopped"`) && l.endsWith(" 1")) &&
          Number(accepted?.[1] ?? 0) >= 1
        ? true
        : undefined
    }, 30_000, 50)
    expect(await demo.stop("SIGTERM")).toBe(0)
  }, 60_000)

  it("shows one self-healed CVM: the scenario stops checkout-worker-0, the daemon starts it again", async () => {
    const { base, demo, simPort } = await startDemo()
    type Action = { cvm_name: string; action: string; result: string; at: string }
    const healed = await waitFor("a successful self-healing start", async () => {
      const body = (await (await fetch(`${base}/api/v1/actions`)).json()) as { enabled: boolean; actions: ReadonlyArray<Action> }
      return body.actions.find((a) => a.cvm_name === "checkout-worker-0" && a.action === "start" && a.result === "ok")
    }, 120_000, 250)
    expect(Date.parse(healed.at)).toBeGreaterThan(0)
    type State = { apps: ReadonlyArray<{ name: string; cvms: ReadonlyArray<{ name: string; status: string }> }> }
    await waitFor("checkout-worker-0 running again", async () => {
      const state = (await (await fetch(`http://127.0.0.1:${simPort}/_sim/state`)).json()) as State
      return state.apps.flatMap((a) => a.cvms).find((c) => c.name === "checkout-worker-0")?.status === "running" ? true : undefined
    }, 30_000, 250)
    const page = await (await fetch(`${base}/`)).text()
    expect(page).toContain("Self-healing")
    expect(page).toContain("checkout-worker-0")
    // no other app is remediated
    const all = (await (await fetch(`${base}/api/v1/actions`)).json()) as { actions: ReadonlyArray<Action> }
    expect(all.actions.every((a) => a.cvm_name === "checkout-worker-0")).toBe(true)
    expect(await demo.stop("SIGTERM")).toBe(0)
  }, 180_000)

  it("names --sim-port when the simulator's port is taken, and --port when the daemon's is", async () => {
    const simTaken = await takenPort()
    const first = spawnCli(["demo", "--port", String(await freePort()), "--sim-port", String(simTaken)])
    expect(await first.exit).toBe(1)
    await waitFor("the hint on stderr", async () => (first.stderr().includes("--sim-port N") ? true : undefined), 5_000, 50)
    expect(first.stderr()).toContain(`cannot listen on 127.0.0.1:${simTaken}`)

    const daemonTaken = await takenPort()
    const second = spawnCli(["demo", "--port", String(daemonTaken), "--sim-port", String(await freePort())])
    expect(await second.exit).toBe(1)
    await waitFor("the hint on stderr", async () => (second.stderr().includes("--port N") ? true : undefined), 5_000, 50)
    expect(second.stderr()).toContain(`cannot listen on 127.0.0.1:${daemonTaken}: address already in use`)
    expect(second.stderr()).toContain(`if port ${daemonTaken} is taken, pick another with --port N`)
    // the README shows the flags, and they are the ones `demo --help` lists
    const [, port, simPort] = /npm run demo -- (--port) \d+ (--sim-port) \d+/.exec(readme) ?? []
    const help = await runCli(["demo", "--help"])
    expect(help.code).toBe(0)
    expect([port, simPort]).toEqual(["--port", "--sim-port"])
    expect(help.stdout).toMatch(/(^|[^-\w])--port\b/)
    expect(help.stdout).toMatch(/--sim-port\b/)
  }, 60_000)
})
