import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { cleanEnv, freePort, imageNodeFlags, sleep, startServe, startSimulator, stopAll, tempDir, writeTemp } from "./support/harness.js"

const KEY = "phak_e2e_soak_0e6b3f92"
const FLAPPING = 5
const STEADY = 5
const appId = (n: number) => `f${String(n).padStart(39, "0")}`
const vm = (app: number, cvm: number) => `00000000-0000-4000-8000-${String(app * 10 + cvm).padStart(12, "0")}`

// every flapping app has one CVM that goes stopped/running every second, for as long as the test runs
const scenario = [
  `api_keys: [${KEY}]`,
  "apps:",
  ...Array.from({ length: FLAPPING + STEADY }, (_, a) => [
    `  - app_id: ${appId(a)}`,
    `    name: soak-${a}`,
    "    cvms:",
    `      - { vm_uuid: ${vm(a, 0)}, name: soak-${a}-0, status: running }`,
    `      - { vm_uuid: ${vm(a, 1)}, name: soak-${a}-1, status: running }`
  ].join("\n")),
  "timeline:",
  "  loop: 2s",
  "  events:",
  ...Array.from({ length: FLAPPING }, (_, a) => [
    `    - { at: 0s, app: ${appId(a)}, cvm: soak-${a}-1, status: stopped }`,
    `    - { at: 1s, app: ${appId(a)}, cvm: soak-${a}-1, status: running }`
  ].join("\n")),
  ""
].join("\n")

const desired = (hookUrl: string) =>
  [
    "version: 1",
    "api:",
    "  api_key: ${PHALA_CLOUD_API_KEY}",
    "  timeout: 5s",
    "poll:",
    "  interval: 1s",
    "defaults:",
    "  for: 0s",
    "alerting:",
    "  resend_interval: 5s",
    `  receivers: [{ name: hook, type: webhook, url: "${hookUrl}", timeout: 5s }]`,
    "  default_receivers: [hook]",
    "apps:",
    ...Array.from({ length: FLAPPING + STEADY }, (_, a) => `  - app_id: ${appId(a)}\n    replicas: 2`),
    ""
  ].join("\n")

interface Sample {
  readonly rssKiB: number
  readonly fds: number
}

const sample = (pid: number): Sample => ({
  rssKiB: Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN),
  fds: readdirSync(`/proc/${pid}/fd`).length
})

const servers: Array<Server> = []
afterAll(async () => {
  for (const s of servers) s.close()
  await stopAll()
})

const WARM_UP_MS = 30_000
const SOAK_MS = 180_000
const SAMPLE_EVERY_MS = 5_000

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

describe("soak", () => {
  it("3 minutes of CVMs flapping every second at a 1 s poll: RSS and open files stay flat", async () => {
    const sim = await startSimulator(writeTemp("soak.scenario.yaml", scenario))
    let notifications = 0
    const hook = createServer((req, res) => {
      req.resume().on("end", () => {
        notifications++
        res.writeHead(200).end("ok")
      })
    })
    servers.push(hook)
    const hookPort = await freePort()
    await new Promise<void>((resolve) => hook.listen(hookPort, "127.0.0.1", () => resolve()))

    const dir = tempDir()
    const configPath = join(dir, "desired.yaml")
    writeFileSync(configPath, desired(`http://127.0.0.1:${hookPort}/hook`))
    // run as the image runs it: Node 24's default young generation alone moves RSS by up to ~100 MiB
    const { base, proc: daemon } = await startServe(configPath, cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY }), {
      args: ["--state-dir", join(dir, "state")],
      nodeFlags: imageNodeFlags
    })
    expect(imageNodeFlags).toContain("--max-semi-space-size=16")
    const pid = daemon.child.pid ?? 0

    // scraped like Prometheus would, with a look at the page and the plan now and then
    const started = Date.now()
    const samples: Array<Sample & { readonly at: number }> = []
    let scrapes = 0
    while (Date.now() - started < SOAK_MS) {
      expect((await fetch(`${base}/metrics`)).status).toBe(200)
      scrapes++
      if (scrapes % 10 === 0) {
        expect((await fetch(`${base}/`)).status).toBe(200)
        expect((await fetch(`${base}/api/v1/plan`)).status).toBe(200)
      }
      const elapsed = Date.now() - started
      if (elapsed - (samples.at(-1)?.at ?? -SAMPLE_EVERY_MS) >= SAMPLE_EVERY_MS) samples.push({ ...sample(pid), at: elapsed })
      await sleep(1_000)
    }
    const metrics = await (await fetch(`${base}/metrics`)).text()
    // medians of a window, not single samples: the heap saws up and down between garbage collections
    const window = (from: number, to: number) => samples.filter((s) => s.at >= from && s.at < to)
    const warm = window(WARM_UP_MS, WARM_UP_MS + 30_000)
    const end = window(SOAK_MS - 30_000, SOAK_MS)
    const summary = {
      warm: { rssMiB: median(warm.map((s) => s.rssKiB)) / 1024, fds: median(warm.map((s) => s.fds)) },
      end: { rssMiB: median(end.map((s) => s.rssKiB)) / 1024, fds: median(end.map((s) => s.fds)) },
      samples: samples.map((s) => `${Math.round(s.at / 1000)}s ${Math.round(s.rssKiB / 1024)}MiB ${s.fds}fd`)
    }
    console.info("soak", JSON.stringify(summary))

    expect(warm.length).toBeGreaterThanOrEqual(3)
    expect(end.length).toBeGreaterThanOrEqual(3)
    // a socket or a file leaked per cycle (150 after warm-up) or per notification (hundreds) goes far past +25, and
    // half a MiB kept per cycle past +96 MiB; V8 alone moves RSS by tens of MiB between full collections (the live
    // heap here is about 60 MiB, and the heap may grow to over twice that before a collection)
    expect(summary.end.fds, JSON.stringify(summary)).toBeLessThanOrEqual(summary.warm.fds + 25)
    expect(summary.end.rssMiB, JSON.stringify(summary)).toBeLessThanOrEqual(summary.warm.rssMiB + 96)
    // and it was busy all along: a cycle about every second, the flaps notified
    const cycles = Number(/^phala_drift_poll_duration_seconds_count (\d+)$/m.exec(metrics)?.[1] ?? 0)
    expect(cycles).toBeGreaterThan(SOAK_MS / 1000 / 2)
    expect(notifications).toBeGreaterThan(100)
    expect(daemon.stderr()).not.toMatch(/"level":"(error|fatal)"/)

    const stopping = performance.now()
    expect(await daemon.stop()).toBe(0)
    expect(performance.now() - stopping).toBeLessThan(1_500)
  }, SOAK_MS + 120_000)
})
