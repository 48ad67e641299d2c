import { readFileSync, writeFileSync } from "node:fs"
import { request as httpsRequest } from "node:https"
import { createServer as createNetServer } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  cleanEnv,
  fixture,
  freePort,
  type Proc,
  type Simulator,
  spawnCli,
  startSimulator,
  stopAll,
  tempDir,
  testConfigHead,
  waitFor
} from "./support/harness.js"

const KEY = "phak_e2e_daemon_7f3a9c21"
const TOKEN = "drift-token-5d8e2b71c4"
const PASSWORD = "basic-pass-91ac37e0ff"
const APP1 = "b000000000000000000000000000000000000001"
const APP2 = "b000000000000000000000000000000000000002"

const configText = (options: { apps: ReadonlyArray<string>; lifecycle: boolean; auth: string }) =>
  [
    ...testConfigHead,
    "server:",
    "  listen: 127.0.0.1:9477",
    `  lifecycle: ${String(options.lifecycle)}`,
    options.auth,
    "apps:",
    ...options.apps.map((id) => `  - app_id: ${id}\n    replicas: { min: 1, max: 3 }`),
    ""
  ].join("\n")

const bearer = `  auth: { bearer_token: "\${DRIFT_TOKEN}" }`
const basic = `  auth: { basic: { username: ops, password: "\${DRIFT_PASSWORD}" } }`

let sim: Simulator
let daemon: Proc
let base: string
let configPath: string
let authHeader = `Bearer ${TOKEN}`
const get = (path: string, headers: Record<string, string> = { authorization: authHeader }) => fetch(`${base}${path}`, { headers })
const post = (path: string, headers: Record<string, string> = { authorization: authHeader }) => fetch(`${base}${path}`, { method: "POST", headers })
const metrics = async () => (await get("/metrics")).text()
const write = (text: string) => writeFileSync(configPath, text)

beforeAll(async () => {
  sim = await startSimulator(fixture("e2e", "daemon.scenario.yaml"))
  configPath = join(tempDir(), "desired.yaml")
  write(configText({ apps: [APP1, APP2], lifecycle: true, auth: bearer }))
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  daemon = spawnCli(
    ["serve", "--config", configPath, "--listen", `127.0.0.1:${port}`],
    cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY, DRIFT_TOKEN: TOKEN, DRIFT_PASSWORD: PASSWORD })
  )
  await waitFor("daemon ready", async () => {
    if (daemon.child.exitCode !== null) throw new Error(daemon.stderr())
    return (await get("/readyz")).ok ? true : undefined
  })
})
afterAll(stopAll)

describe("auth", () => {
  it("protects every endpoint but the probes /healthz and /readyz with the bearer token", async () => {
    // kubelet and Docker probes carry no credentials
    for (const path of ["/healthz", "/readyz"]) {
      const anonymous = await get(path, {})
      expect(anonymous.status, path).toBe(200)
      expect(await anonymous.text(), path).toMatch(/^(ok|ready)\n$/)
    }
    for (const path of ["/metrics", "/api/v1/plan", "/api/v1/alerts", "/"]) {
      const anonymous = await get(path, {})
      expect(anonymous.status, path).toBe(401)
      expect(anonymous.headers.get("www-authenticate")).toContain("Bearer")
      expect((await get(path, { authorization: "Bearer wrong-token" })).status, path).toBe(401)
    }
    expect((await get("/metrics")).status).toBe(200)
    expect((await post("/-/reload", {})).status).toBe(401)
  })
})

describe("hot reload and lifecycle endpoints", () => {
  it("drops the series of an app removed from the watched file", async () => {
    await waitFor("both apps", async () => ((await metrics()).includes(`app_id="${APP2}"`) ? true : undefined))
    write(configText({ apps: [APP1], lifecycle: true, auth: bearer }))
    await waitFor("app 2 gone", async () => {
      const text = await metrics()
      return !text.includes(`app_id="${APP2}"`) && text.includes(`app_id="${APP1}"`) ? true : undefined
    }, 20_000, 200)
    expect(daemon.stderr()).toContain("config reloaded")
  })

  it("rejects a bad config with file:line:col diagnostics and keeps the old one running", async () => {
    write(configText({ apps: [APP1], lifecycle: true, auth: bearer }).replace("interval: 1s", "interval: soon"))
    await waitFor("reload failure metric", async () =>
      (await metrics()).includes("phala_drift_config_last_reload_successful 0") ? true : undefined, 20_000, 200)
    expect(daemon.stderr()).toMatch(/config reload rejected/)
    expect(daemon.stderr()).toMatch(/desired\.yaml:7:13: poll\.interval: invalid duration \\"soon\\"/)
    const before = /^phala_drift_last_poll_success_timestamp_seconds (\S+)$/m.exec(await metrics())?.[1]
    await waitFor("cycles go on", async () => {
      const after = /^phala_drift_last_poll_success_timestamp_seconds (\S+)$/m.exec(await metrics())?.[1]
      return after !== before ? true : undefined
    })
    expect((await metrics())).toContain(`phala_app_up{app_id="${APP1}"`)
    const reload = await post("/-/reload")
    expect(reload.status).toBe(400)
    expect(((await reload.json()) as { status: string }).status).toBe("rejected")
  })

  it("reloads on SIGHUP and on POST /-/reload, and reconciles on POST /-/reconcile", async () => {
    write(configText({ apps: [APP1, APP2], lifecycle: true, auth: bearer }))
    daemon.child.kill("SIGHUP")
    await waitFor("SIGHUP reload", async () => (/"reason":"SIGHUP"/.test(daemon.stderr()) ? true : undefined))
    await waitFor("reload ok metric", async () =>
      (await metrics()).includes("phala_drift_config_last_reload_successful 1") ? true : undefined)
    const reload = await post("/-/reload")
    expect(reload.status).toBe(200)
    expect(((await reload.json()) as { status: string }).status).toBe("reloaded")
    const reconcile = await post("/-/reconcile")
    expect(reconcile.status).toBe(200)
    expect(((await reconcile.json()) as { summary: { apps: number } }).summary.apps).toBe(2)
  })

  it("switches to basic auth on reload, and answers 403 when lifecycle is off", async () => {
    write(configText({ apps: [APP1, APP2], lifecycle: false, auth: basic }))
    authHeader = `Basic ${Buffer.from(`ops:${PASSWORD}`).toString("base64")}`
    await waitFor("basic auth in force", async () => ((await get("/metrics")).status === 200 ? true : undefined), 20_000, 200)
    expect((await get("/metrics", { authorization: `Bearer ${TOKEN}` })).status).toBe(401)
    expect((await get("/metrics", { authorization: `Basic ${Buffer.from("ops:nope").toString("base64")}` })).status).toBe(401)
    expect((await post("/-/reload")).status).toBe(403)
    expect((await post("/-/reconcile")).status).toBe(403)
  })

  it("never shows a secret in responses or logs after all of that", async () => {
    const seen = [
      await metrics(),
      await (await get("/api/v1/plan")).text(),
      await (await get("/api/v1/plan?format=text")).text(),
      await (await get("/api/v1/alerts")).text(),
      await (await get("/")).text(),
      daemon.stdout(),
      daemon.stderr()
    ].join("\n")
    for (const secret of [KEY, TOKEN, PASSWORD, Buffer.from(`ops:${PASSWORD}`).toString("base64")]) {
      expect(seen).not.toContain(secret)
    }
  })
})

describe("TLS", () => {
  it("serves HTTPS with the configured certificate", async () => {
    const dir = tempDir()
    const path = join(dir, "tls.yaml")
    const port = await freePort()
    writeFileSync(path, configText({ apps: [APP1], lifecycle: false, auth: "" }).replace(
      "  listen: 127.0.0.1:9477",
      `  listen: 127.0.0.1:9477\n  tls: { cert_file: ${fixture("tls", "test-only.crt")}, key_file: ${fixture("tls", "test-only.key")} }`
    ))
    const tlsDaemon = spawnCli(["serve", "--config", path, "--listen", `127.0.0.1:${port}`], cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY }))
    const ca = readFileSync(fixture("tls", "test-only.crt"))
    const getTls = (p: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest({ host: "127.0.0.1", port, path: p, ca, servername: "localhost" }, (res) => {
          let body = ""
          res.setEncoding("utf8").on("data", (d: string) => { body += d }).on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on("error", reject)
        req.end()
      })
    try {
      const health = await waitFor("https healthz", async () => {
        if (tlsDaemon.child.exitCode !== null) throw new Error(tlsDaemon.stderr())
        return getTls("/healthz")
      })
      expect(health).toEqual({ status: 200, body: "ok\n" })
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow()
    } finally {
      await tlsDaemon.stop()
    }
  })

  it("refuses to start (exit 1) when the certificate cannot be read", async () => {
    const path = join(tempDir(), "bad-tls.yaml")
    writeFileSync(path, configText({ apps: [APP1], lifecycle: false, auth: "" }).replace(
      "  listen: 127.0.0.1:9477",
      "  listen: 127.0.0.1:9477\n  tls: { cert_file: /nonexistent/cert.pem, key_file: /nonexistent/key.pem }"
    ))
    const port = await freePort()
    const bad = spawnCli(["serve", "--config", path, "--listen", `127.0.0.1:${port}`], cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY }))
    expect(await bad.exit).toBe(1)
    expect(bad.stderr()).toContain("server.tls: cannot read certificate /nonexistent/cert.pem")
  })
})

describe("start-up errors", () => {
  it("exits 1 with a plain message when the port is taken", async () => {
    const blocker = createNetServer()
    const port = await freePort()
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", () => resolve()))
    try {
      const path = join(tempDir(), "taken.yaml")
      writeFileSync(path, configText({ apps: [APP1], lifecycle: false, auth: "" }))
      const taken = spawnCli(["serve", "--config", path, "--listen", `127.0.0.1:${port}`], cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY }))
      expect(await taken.exit).toBe(1)
      expect(taken.stderr()).toContain(`cannot listen on 127.0.0.1:${port}: address already in use`)
    } finally {
      blocker.close()
    }
  })
})

describe("poll.cron", () => {
  it("runs cycles on a node-cron schedule and stops cleanly", async () => {
    const path = join(tempDir(), "cron.yaml")
    writeFileSync(path, configText({ apps: [APP1], lifecycle: false, auth: "" }).replace("  interval: 1s", `  cron: "* * * * * *"`))
    const port = await freePort()
    const cronDaemon = spawnCli(["serve", "--config", path, "--listen", `127.0.0.1:${port}`], cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY }))
    try {
      await waitFor("three cron cycles", async () => {
        if (cronDaemon.child.exitCode !== null) throw new Error(cronDaemon.stderr())
        return (cronDaemon.stderr().match(/reconcile cycle finished/g) ?? []).length >= 3 ? true : undefined
      }, 20_000, 200)
    } finally {
      const started = Date.now()
      expect(await cronDaemon.stop()).toBe(0)
      expect(Date.now() - started).toBeLessThan(5_000)
    }
  })
})
