// No Docker engine here: the Dockerfile is executed step by step (support/dockerfile.ts) into directories standing in
// for the image, and the image's ENTRYPOINT + CMD, `docker run IMAGE plan|simulate` and HEALTHCHECK run from there
// with the Node that runs this test (Node 24 in the CI pass that mirrors the container).
import { type ChildProcess, spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import YAML from "yaml"
import { builtIn } from "../../src/Config/Build.js"
import { type BuiltImage, build, parseDockerfile, runContainer } from "../support/dockerfile.js"
import { cleanEnv, freePort, ROOT, tempDir, waitFor } from "./support/harness.js"

const dockerfile = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"))
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string; license: string; description: string }
const DEMO_KEY = "phak_demo_0123456789"
const buildArgs = { REVISION: "0123abcd", CREATED: "2026-11-28T16:00:00Z" }

const children: Array<ChildProcess> = []
const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code))))
const collect = (child: ChildProcess) => {
  let out = ""
  child.stdout?.setEncoding("utf8").on("data", (d: string) => { out += d })
  child.stderr?.setEncoding("utf8").on("data", (d: string) => { out += d })
  return () => out
}
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
})

const files = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : [path]
  })

describe("Dockerfile", () => {
  const stages = dockerfile.stages

  it("builds in two stages on node:24-bookworm-slim pinned by digest", () => {
    expect(stages).toHaveLength(2)
    for (const stage of stages) expect(stage.from).toMatch(/^node:24-bookworm-slim@sha256:[0-9a-f]{64}$/)
    expect(new Set(stages.map((s) => s.from)).size).toBe(1)
  })

  it("installs nothing with a system package manager and downloads no tools (node is the health probe)", () => {
    const runs = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args))
    expect(runs.length).toBeGreaterThan(0)
    for (const run of runs) expect(run).not.toMatch(/apt-get|apk |curl|wget/)
  })
})

describe("the image, built by executing the Dockerfile's steps", () => {
  let image: BuiltImage
  // the build stage holds a full node_modules (about 200 MB): removed afterwards
  const workDir = tempDir("phala-drift-image-")
  beforeAll(async () => {
    image = await build(dockerfile, { context: ROOT, workDir, buildArgs })
  }, 900_000)
  afterAll(() => rmSync(workDir, { recursive: true, force: true }))

  it("runs `node --max-semi-space-size=16 dist/main.js` as the entry point and `serve` with the state dir on the volume as the command", () => {
    expect(image.config.entrypoint).toEqual(["node", "--max-semi-space-size=16", "dist/main.js"])
    expect(image.config.cmd[0]).toBe("serve")
    const stateDir = image.config.cmd[image.config.cmd.indexOf("--state-dir") + 1]
    expect(stateDir).toBe("/var/lib/phala-drift")
    expect(image.config.volumes).toEqual([stateDir])
    expect(image.config.user).toBe("node")
    expect(image.config.exposed).toEqual([`${builtIn.port}`])
    expect(image.config.env["PHALA_DRIFT_CONFIG"]).toBe("/etc/phala-drift/desired.yaml")
    // the image's user owns the volume, so it can write alert state there
    expect(image.chowns).toContainEqual(["node:node", join(image.root, String(stateDir))])
  })

  it("carries the OCI labels, from package.json and the build arguments", () => {
    const labels = image.config.labels
    expect(labels["org.opencontainers.image.title"]).toBe(pkg.name)
    expect(labels["org.opencontainers.image.version"]).toBe(pkg.version)
    expect(labels["org.opencontainers.image.licenses"]).toBe(pkg.license)
    expect(labels["org.opencontainers.image.description"]).toBe(pkg.description)
    expect(labels["org.opencontainers.image.revision"]).toBe(buildArgs.REVISION)
    expect(labels["org.opencontainers.image.created"]).toBe(buildArgs.CREATED)
    expect(labels["org.opencontainers.image.base.name"]).toBe(image.config.from)
  })

  it("ships production dependencies only, pruned of sources, declarations, maps and CommonJS builds", () => {
    const modules = join(image.root, "app", "node_modules")
    for (const dev of ["vitest", "typescript", "eslint", "playwright-core", "kubernetes-models"]) expect(existsSync(join(modules, dev)), dev).toBe(false)
    for (const dep of ["effect", "@effect/platform-node", "prom-client", "yaml", "node-cron"]) expect(existsSync(join(modules, dep)), dep).toBe(true)
    const all = files(modules)
    expect(all.filter((f) => /\.(ts|mts|cts|map)$/.test(f))).toEqual([])
    expect(existsSync(join(modules, "effect", "dist", "esm"))).toBe(true)
    expect(existsSync(join(modules, "effect", "dist", "cjs"))).toBe(false)
    // licenses stay
    for (const dep of ["effect", "@effect/platform", "prom-client"]) expect(existsSync(join(modules, dep, "LICENSE")), dep).toBe(true)
    const prune = image.runLog.map((r) => r.output).join("\n").match(/prune-production: \S+ ([\d.]+) MiB -> ([\d.]+) MiB/)
    expect(prune, "the prune step's summary").not.toBeNull()
    expect(Number(prune?.[2])).toBeLessThan(Number(prune?.[1]))
    expect(existsSync(join(image.root, "app", "dist", "main.js"))).toBe(true)
    expect(existsSync(join(image.root, "app", "src"))).toBe(false)
  })

  it("`docker run IMAGE simulate`, `docker run IMAGE plan` and the default `serve` work from the image, with its HEALTHCHECK", async () => {
    // the compose kit's simulator: the same image with the command `simulate ...`, here on a free loopback port
    const compose = YAML.parse(readFileSync(join(ROOT, "deploy", "docker-compose.yml"), "utf8")) as { services: Record<string, { command?: Array<string> }> }
    const simArgs = [...(compose.services["simulator"]?.command ?? [])]
    expect(simArgs[0]).toBe("simulate")
    const simPort = await freePort()
    simArgs[simArgs.indexOf("--port") + 1] = String(simPort)
    simArgs[simArgs.indexOf("--host") + 1] = "127.0.0.1"
    const baseEnv = cleanEnv()
    const sim = runContainer(image, { args: simArgs, baseEnv })
    children.push(sim)
    const simOutput = collect(sim)
    await waitFor("simulator from the image", async () => {
      if (sim.exitCode !== null) throw new Error(simOutput())
      return (await fetch(`http://127.0.0.1:${simPort}/_sim/state`)).ok ? true : undefined
    }, 30_000)
    const api = { PHALA_CLOUD_API_URL: `http://127.0.0.1:${simPort}/api/v1`, PHALA_CLOUD_API_KEY: DEMO_KEY }

    // the build has no .git: the commit `version` reports is the REVISION build argument
    const version = runContainer(image, { args: ["version", "--output", "json"], baseEnv })
    children.push(version)
    const versionOutput = collect(version)
    expect(await exited(version), versionOutput()).toBe(0)
    expect(versionOutput()).toContain(`"commit":"${buildArgs.REVISION}"`)

    const plan = runContainer(image, { args: ["plan", "--config", "config/demo.yaml"], env: api, baseEnv })
    children.push(plan)
    const planOutput = collect(plan)
    expect(await exited(plan), planOutput()).toBe(2)
    expect(planOutput()).toContain("Drift detected.")

    // serve, as `docker run -v desired.yaml:/etc/phala-drift/desired.yaml IMAGE` (listening on a free port)
    const port = await freePort()
    const desired = YAML.parseDocument(readFileSync(join(ROOT, "config", "demo.yaml"), "utf8"))
    desired.setIn(["server", "listen"], `127.0.0.1:${port}`)
    const desiredPath = join(tempDir(), "desired.yaml")
    writeFileSync(desiredPath, desired.toString())
    const serve = runContainer(image, { env: api, baseEnv, mounts: { [desiredPath]: "/etc/phala-drift/desired.yaml" } })
    children.push(serve)
    const serveOutput = collect(serve)
    await waitFor("serve from the image ready", async () => {
      if (serve.exitCode !== null) throw new Error(serveOutput())
      return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined
    }, 60_000)
    // alert state lands on the volume the CMD names
    await waitFor("alert state in the volume", async () => (existsSync(join(image.root, "var", "lib", "phala-drift", "alerts.json")) ? true : undefined), 30_000)

    const check = image.config.healthcheck
    expect(check?.options).toMatchObject({ interval: "30s", timeout: "5s", retries: "3" })
    const [program, ...probeArgs] = check?.command ?? []
    expect(program).toBe("node")
    const probe = probeArgs.map((a) => a.replace(`127.0.0.1:${builtIn.port}/`, `127.0.0.1:${port}/`))
    expect(probe.join(" ")).toContain(`127.0.0.1:${port}/healthz`)
    expect(spawnSync(process.execPath, probe, { encoding: "utf8", timeout: 10_000 }).status).toBe(0)

    // docker stop: SIGTERM, exit 0; then the probe fails
    serve.kill("SIGTERM")
    expect(await exited(serve), serveOutput()).toBe(0)
    expect(spawnSync(process.execPath, probe, { encoding: "utf8", timeout: 10_000 }).status).toBe(1)
    sim.kill("SIGTERM")
    await exited(sim)
  }, 180_000)
})
