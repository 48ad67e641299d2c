import { spawn } from "node:child_process"
import { appendFileSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { cleanEnv, MAIN, ROOT, runCli, type Simulator, startSimulator, stopAll, tempDir, testConfigHead, waitFor, writeTemp } from "./support/harness.js"

const KEY = "phak_apply_e2e_7c1d9e"
const app = (n: number) => `b10000000000000000000000000000000000000${n}`
const vm = (n: number) => `10000000-0000-4000-8000-000000000${n}`

const scenario = `
api_keys: [${KEY}]
transition_delay: 2s
apps:
  - app_id: ${app(1)}
    name: web
    cvms:
      - { vm_uuid: ${vm(101)}, name: web-0, status: running }
      - { vm_uuid: ${vm(102)}, name: web-1, status: stopped }
  - app_id: ${app(2)}
    name: batch
    cvms:
      - { vm_uuid: ${vm(201)}, name: batch-0, status: running }
  - app_id: ${app(3)}
    name: gpu
    cvms:
      - { vm_uuid: ${vm(301)}, name: gpu-0, status: exited }
    faults: { actions: [403] }
  - app_id: ${app(4)}
    name: busy
    cvms:
      - { vm_uuid: ${vm(401)}, name: busy-0, status: stopped }
    faults: { actions: [409] }
  - app_id: ${app(5)}
    name: resized
    cvms:
      - { vm_uuid: ${vm(501)}, name: resized-0, status: running, instance_type: tdx.small }
`

const desired = [
  ...testConfigHead,
  "apps:",
  `  - { app_id: ${app(1)}, name: web, replicas: 2 }`,
  `  - { app_id: ${app(2)}, name: batch, replicas: 1, status: stopped }`,
  `  - { app_id: ${app(3)}, name: gpu, replicas: 1 }`,
  `  - { app_id: ${app(4)}, name: busy, replicas: 1 }`,
  `  - { app_id: ${app(5)}, name: resized, replicas: 1, cvm: { instance_type: tdx.large } }`,
  ""
].join("\n")

let sim: Simulator
let dir: string
let config: string
const env = () => cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY })
const cli = (args: ReadonlyArray<string>) => runCli(args, env())

interface Logged {
  readonly method: string
  readonly path: string
  readonly status: number | null
}
const posts = async (): Promise<ReadonlyArray<Logged>> => {
  const body = (await (await sim.admin("GET", "/_sim/requests")).json()) as { readonly requests: ReadonlyArray<Logged> }
  return body.requests.filter((r) => r.method === "POST")
}
const statusOf = async (appId: string, vmUuid: string): Promise<string | undefined> => {
  const state = (await (await sim.admin("GET", "/_sim/state")).json()) as {
    readonly apps: ReadonlyArray<{ readonly app_id: string; readonly cvms: ReadonlyArray<{ readonly vm_uuid: string; readonly status: string }> }>
  }
  return state.apps.find((a) => a.app_id === appId)?.cvms.find((c) => c.vm_uuid === vmUuid)?.status
}
const dashless = (uuid: string) => uuid.replaceAll("-", "")

beforeAll(async () => {
  dir = tempDir("phala-drift-apply-")
  sim = await startSimulator(writeTemp("scenario.yaml", scenario, dir))
})
afterAll(stopAll)
beforeEach(async () => {
  expect((await sim.admin("POST", "/_sim/reset")).ok).toBe(true)
  await sim.admin("DELETE", "/_sim/requests")
  config = writeTemp("desired.yaml", desired, tempDir("phala-drift-apply-"))
})

describe("apply against the simulator", () => {
  it("without a terminal and without --auto-approve it shows the actions, refuses, exits 1 and calls nothing", async () => {
    const result = await cli(["apply", "--config", config])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain("Plan: 3 to start, 1 to shut down, 1 needs a person.")
    expect(result.stdout).toContain("phala-drift will perform these 4 actions:")
    expect(result.stderr).toContain("Apply refused: no terminal to confirm on")
    expect(await posts()).toEqual([])
    expect(await statusOf(app(1), vm(102))).toBe("stopped")
  })

  it("--auto-approve starts the stopped CVM, which really starts in the simulator; exit 0", async () => {
    const result = await cli(["apply", "--config", config, "--app", "web", "--auto-approve"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/done +start cvm "web-1" \(10000000-0000-4000-8000-000000000102\) .*accepted, now "starting"/)
    expect(result.stdout).toContain("Apply complete: 1 done, 0 skipped, 0 failed.")
    expect(await posts()).toEqual([expect.objectContaining({ path: `/api/v1/cvms/${dashless(vm(102))}/start`, status: 200 })])
    await waitFor("web-1 running", async () => ((await statusOf(app(1), vm(102))) === "running" ? true : undefined))
    const after = await cli(["plan", "--config", config, "--app", "web"])
    expect(after.code).toBe(0)
  })

  it("more actions than --max-actions: everything is refused and nothing is called", async () => {
    const result = await cli(["apply", "--config", config, "--auto-approve", "--max-actions", "3"])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("Apply refused: 4 actions planned, more than --max-actions 3. Nothing was done.")
    expect(await posts()).toEqual([])
  })

  it("a saved plan whose config changed since is refused as stale", async () => {
    const saved = join(dir, "stale.plan.json")
    expect((await cli(["plan", "--config", config, "--out", saved])).code).toBe(2)
    appendFileSync(config, "# edited after the plan\n")
    const result = await cli(["apply", saved, "--auto-approve"])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("is stale")
    expect(result.stderr).toContain("Nothing was done")
    expect(await posts()).toEqual([])
  })

  it("a CVM that changed between plan and apply is skipped and said so; exit 0", async () => {
    const saved = join(dir, "changed.plan.json")
    expect((await cli(["plan", "--config", config, "--app", "web", "--out", saved])).code).toBe(2)
    expect(statSync(saved).mode & 0o777).toBe(0o600)
    expect((await sim.admin("PUT", `/_sim/apps/${app(1)}/cvms/${vm(102)}/status`, { status: "running" })).ok).toBe(true)
    const result = await cli(["apply", saved, "--auto-approve"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/skipped start cvm "web-1" .*changed since the plan: now "running", planned from "stopped"/)
    expect(result.stdout).toContain("Apply complete: 0 done, 1 skipped, 0 failed.")
    expect(await posts()).toEqual([])
  })

  it("a saved plan is applied as saved, for the config it names", async () => {
    const saved = join(dir, "saved.plan.json")
    expect((await cli(["plan", "--config", config, "--app", "batch", "--out", saved])).code).toBe(2)
    const result = await cli(["apply", saved, "--auto-approve", "--output", "json"])
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as { readonly refused: string | null; readonly results: ReadonlyArray<Record<string, unknown>> }
    expect(report.refused).toBeNull()
    expect(report.results).toEqual([
      expect.objectContaining({ app_id: app(2), vm_uuid: vm(201), action: "shutdown", from: "running", to: "stopped", result: "ok" })
    ])
    // shutting_down for the simulator's transition delay, then stopped
    expect(["shutting_down", "stopped"]).toContain(await statusOf(app(2), vm(201)))
  })

  it("409 \"Another operation in progress\" then success: the action is retried and succeeds", async () => {
    const result = await cli(["apply", "--config", config, "--app", "busy", "--auto-approve"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/done +start cvm "busy-0" .*\(after 2 attempts\)/)
    expect((await posts()).map((r) => r.status)).toEqual([409, 200])
  })

  it("403 fails the action with the API's reason, exit 1; the others still run", async () => {
    const result = await cli(["apply", "--config", config, "--app", "gpu", "--app", "web", "--auto-approve"])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/FAILED +start cvm "gpu-0" .*forbidden: HTTP 403: CVM not in workspace/)
    expect(result.stdout).toContain("Apply complete: 1 done, 0 skipped, 1 failed.")
    expect((await posts()).map((r) => r.status)).toEqual([200, 403])
    expect(await statusOf(app(3), vm(301))).toBe("exited")
  })

  it("--force stops instead of shutting down", async () => {
    const result = await cli(["apply", "--config", config, "--app", "batch", "--force", "--auto-approve"])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("# apply: stop (forced)")
    expect(await posts()).toEqual([expect.objectContaining({ path: `/api/v1/cvms/${dashless(vm(201))}/stop`, status: 200 })])
    expect(["stopping", "stopped"]).toContain(await statusOf(app(2), vm(201)))
  })

  it("show prints a saved plan as it was planned, in text and JSON", async () => {
    const saved = join(dir, "show.plan.json")
    const planned = await cli(["plan", "--config", config, "--out", saved, "--output", "json"])
    expect(planned.code).toBe(2)
    const shownJson = await cli(["show", saved, "--output", "json"])
    expect(shownJson.code).toBe(0)
    expect(JSON.parse(shownJson.stdout)).toEqual(JSON.parse(planned.stdout))
    const text = await cli(["plan", "--config", config])
    const shown = await cli(["show", saved])
    expect(shown.code).toBe(0)
    // the same fleet planned again differs only in the time it was generated
    const withoutTime = (t: string) => t.replace(/generated \S+/, "generated …")
    expect(withoutTime(shown.stdout)).toContain(withoutTime(text.stdout))
    const broken = writeTemp("broken.plan.json", "{\"saved_plan_version\": \"1\"}", dir)
    const refused = await cli(["show", broken])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("not a saved plan")
  })

  it("an apply with nothing to do says so and exits 0", async () => {
    const result = await cli(["apply", "--config", config, "--app", "resized"])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("# needs a person")
    expect(result.stdout).toContain("No changes: nothing to apply.")
  })
})

/** Runs `apply` on a pseudo-terminal (util-linux `script`), typing `answer` at the prompt. */
const applyOnTerminal = (args: ReadonlyArray<string>, answer: string) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((resolve) => {
    const quoted = [process.execPath, MAIN, "apply", ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")
    const child = spawn("script", ["-qec", quoted, "/dev/null"], { cwd: ROOT, env: env(), stdio: ["pipe", "pipe", "pipe"] })
    let output = ""
    let typed = false
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      output += d
      if (!typed && output.includes("Enter a value:")) {
        typed = true
        child.stdin.write(`${answer}\n`)
      }
    })
    child.once("exit", (code) => resolve({ code, output }))
  })

describe("apply on a terminal (util-linux script)", () => {
  it("asks, and acts only on 'yes'", async () => {
    const declined = await applyOnTerminal(["--config", config, "--app", "web"], "y")
    expect(declined.output).toContain("Only 'yes' will be accepted to approve.")
    expect(declined.output).toContain("Apply cancelled")
    expect(declined.code).toBe(1)
    expect(await posts()).toEqual([])

    const approved = await applyOnTerminal(["--config", config, "--app", "web"], "yes")
    expect(approved.output).toContain("Apply complete: 1 done, 0 skipped, 0 failed.")
    expect(approved.code).toBe(0)
    expect((await posts()).map((r) => r.path)).toEqual([`/api/v1/cvms/${dashless(vm(102))}/start`])
  })
})

describe("the saved plan file", () => {
  it("holds the plan, its text and the config digest, never the API key", async () => {
    const saved = join(dir, "secret.plan.json")
    expect((await cli(["plan", "--config", config, "--out", saved])).code).toBe(2)
    const text = readFileSync(saved, "utf8")
    expect(text).not.toContain(KEY)
    const file = JSON.parse(text) as { readonly config: { readonly digest: string }; readonly plan: { readonly format_version: string } }
    expect(file.config.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(file.plan.format_version).toBe("1.1")
  })
})
