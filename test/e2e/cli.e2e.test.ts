// The command line as a user meets it: the built CLI spawned over loopback against the simulator.
import { execFileSync, spawnSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  cleanEnv,
  fixture,
  MAIN,
  ROOT,
  runCli,
  type Simulator,
  startServe,
  startSimulator,
  stopAll,
  testConfigHead,
  waitFor,
  writeTemp
} from "./support/harness.js"

const KEY = "phak_e2e_cli_5c2e81d4"
const OK = "c000000000000000000000000000000000000001"
const FLAKY = "c000000000000000000000000000000000000002"
const FLEET = fixture("e2e", "fleet.desired.yaml")

const scenario = [
  `api_keys: [${KEY}]`,
  "apps:",
  `  - app_id: ${OK}`,
  "    name: steady",
  "    cvms: [{ name: steady-0, instance_type: tdx.large }]",
  `  - app_id: ${FLAKY}`,
  "    name: flaky",
  "    cvms: [{ name: flaky-0, instance_type: tdx.large }]",
  ""
].join("\n")

const desired = [
  ...testConfigHead,
  "apps:",
  `  - app_id: ${OK}`,
  "    name: steady",
  `  - app_id: ${FLAKY}`,
  "    name: flaky",
  ""
].join("\n")

let sim: Simulator
const apiEnv = (extra: Record<string, string> = {}) => cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY, ...extra })

beforeAll(async () => {
  sim = await startSimulator(writeTemp("cli.scenario.yaml", scenario))
})
afterAll(stopAll)

describe("help and version", () => {
  it("help is plain text when piped, even without NO_COLOR, and names the program, not main.js", async () => {
    const env = cleanEnv()
    delete env["NO_COLOR"]
    for (const args of [["--help"], ["serve", "--help"], ["plan", "-h"], []]) {
      const result = await runCli(args, env)
      expect(result.code).toBe(0)
      expect(result.stdout).not.toContain("\u001b[")
      expect(result.stdout).toMatch(/^Usage: phala-drift /)
      expect(result.stdout).not.toContain("main.js")
    }
  })

  it("version and --version: version, the commit it was built from, Node's version; JSON on request", async () => {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim()
    const json = await runCli(["version", "--output", "json"])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({ version: "0.1.0", commit: head, node: process.versions.node })
    const text = await runCli(["--version"])
    expect(text.stdout).toBe(`phala-drift 0.1.0 (commit ${head}, Node.js ${process.versions.node})\n`)
  })

  it("a usage error exits 1 with a hint on stderr, nothing on stdout", async () => {
    const result = await runCli(["plan", "--wizard"])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(result.stderr).toContain("unknown option --wizard for plan")
    expect(result.stderr).toContain("phala-drift plan --help")
  })
})

describe("shell completion", () => {
  const complete = (words: ReadonlyArray<string>): ReadonlyArray<string> => {
    const script = execFileSync(process.execPath, [MAIN, "completion", "bash"], { encoding: "utf8" })
    const array = words.map((w) => `'${w}'`).join(" ")
    const result = spawnSync("bash", ["--norc", "-c", `${script}\nCOMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _phala_drift; printf '%s\\n' "\${COMPREPLY[@]}"`], {
      encoding: "utf8"
    })
    expect(result.status, result.stderr).toBe(0)
    return result.stdout.split("\n").filter((w) => w !== "")
  }

  it("bash completes commands, a command's options and their values", () => {
    expect(complete(["phala-drift", ""])).toEqual(
      expect.arrayContaining(["serve", "plan", "show", "apply", "validate", "simulate", "demo", "version", "completion"])
    )
    expect(complete(["phala-drift", "pl"])).toEqual(["plan"])
    expect(complete(["phala-drift", "plan", "--o"])).toEqual(["--output", "--out"])
    expect(complete(["phala-drift", "apply", "--a"])).toEqual(["--app", "--auto-approve"])
    expect([...complete(["phala-drift", "show", "packa"])].sort()).toEqual(["package-lock.json", "package.json"])
    expect(complete(["phala-drift", "im"])).toEqual(["import"])
    expect(complete(["phala-drift", "import", "--"])).toEqual(expect.arrayContaining(["--config", "--app", "--output"]))
    expect(complete(["phala-drift", "validate", "--s"])).toEqual(["--strict"])
    expect(complete(["phala-drift", "plan", "--output", ""])).toEqual(["text", "json"])
    expect(complete(["phala-drift", "serve", "--log-level", "d"])).toEqual(["debug"])
    expect(complete(["phala-drift", "completion", ""])).toEqual(["bash", "zsh", "fish"])
    expect(complete(["phala-drift", "simulate", "--"])).toEqual(expect.arrayContaining(["--scenario", "--port", "--host", "--log-level"]))
  })

  it("zsh and fish scripts are printed too", async () => {
    expect((await runCli(["completion", "zsh"])).stdout).toContain("bashcompinit")
    expect((await runCli(["completion", "fish"])).stdout).toContain("complete -c phala-drift")
  })
})

describe("validate without secrets", () => {
  it("an unset ${VAR} is a note (text and JSON, exit 0); --strict makes it an error (exit 1)", async () => {
    const env = cleanEnv()
    const text = await runCli(["validate", "--config", FLEET], env)
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/fleet\.desired\.yaml:5:\d+: api\.api_key: note: environment variable PHALA_CLOUD_API_KEY is not set/)
    expect(text.stdout).toContain("valid (10 apps")

    const json = await runCli(["validate", "--config", FLEET, "--output", "json"], env)
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: true,
      apps: 10,
      notes: [{ line: 5, path: "api.api_key", message: "environment variable PHALA_CLOUD_API_KEY is not set" }]
    })

    const strict = await runCli(["validate", "--config", FLEET, "--strict", "--output", "json"], env)
    expect(strict.code).toBe(1)
    expect(JSON.parse(strict.stdout)).toMatchObject({ valid: false, errors: [{ path: "api.api_key" }] })
  })

  it("plan still refuses to run on an unset ${VAR}", async () => {
    const result = await runCli(["plan", "--config", FLEET], cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl }))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("environment variable PHALA_CLOUD_API_KEY is not set")
  })

  it("a real error is still an error without --strict", async () => {
    const bad = writeTemp("bad.yaml", ["version: 1", "api:", "  api_key: ${NOT_SET_ANYWHERE}", "apps:", "  - app_id: nothex", ""].join("\n"))
    const result = await runCli(["validate", "--config", bad], cleanEnv())
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/bad\.yaml:5:\d+: apps\[0\]\.app_id/)
  })
})

describe("plan", () => {
  const config = () => writeTemp("desired.yaml", desired)

  it("--app takes a declared app's name", async () => {
    const result = await runCli(["plan", "--config", config(), "--app", "flaky", "--output", "json"], apiEnv())
    expect(result.code).toBe(0)
    expect((JSON.parse(result.stdout) as { apps: ReadonlyArray<{ app_id: string }> }).apps.map((a) => a.app_id)).toEqual([FLAKY])
  })

  it("a name two apps share is an error naming both ids", async () => {
    const twice = writeTemp("twice.yaml", desired.replace("name: flaky", "name: steady"))
    const result = await runCli(["plan", "--config", twice, "--app", "steady"], apiEnv())
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`"steady" is the name of 2 apps (${OK}, ${FLAKY})`)
  })

  it("a rejected key: exit 1 and \"API key rejected\"", async () => {
    const result = await runCli(["plan", "--config", config()], apiEnv({ PHALA_CLOUD_API_KEY: "phak_wrong_0000" }))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("API key rejected")
  })

  it("--log-level debug (before or after the command): one line per API request, never the key", async () => {
    for (const [args, format] of [[["--log-level", "debug", "plan"], "json"], [["plan", "--log-level=debug"], "logfmt"]] as const) {
      const result = await runCli([...args, "--config", config()], apiEnv({ LOG_FORMAT: format }))
      expect(result.code).toBe(0)
      const lines = result.stderr.split("\n").filter((l) => l !== "")
      const requests = lines.map((l) => parseLine(format, l)).filter((l) => l["msg"] === "Phala API request")
      expect(requests.map((r) => r["path"]).sort()).toEqual([`/api/v1/apps/${OK}`, `/api/v1/apps/${FLAKY}`])
      for (const r of requests) expect(r).toMatchObject({ level: "debug", method: "GET", status: format === "json" ? 200 : "200" })
      expect(result.stderr).not.toContain(KEY)
    }
  })
})

const parseLogfmt = (line: string): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const m of line.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const raw = m[2] ?? ""
    out[m[1] ?? ""] = raw.startsWith("\"") ? JSON.parse(raw) : raw
  }
  return out
}

/** One log line in either format; fails the test on anything else (a multi-line stack, Effect's default shape). */
const parseLine = (format: "json" | "logfmt", line: string): Record<string, unknown> => {
  if (format === "logfmt") {
    expect(line).toMatch(/^ts=\S+ level=[a-z]+ msg=/)
    return parseLogfmt(line)
  }
  const parsed: unknown = JSON.parse(line)
  if (typeof parsed !== "object" || parsed === null) throw new Error(`not a JSON object: ${line}`)
  expect(Object.keys(parsed).slice(0, 3)).toEqual(["ts", "level", "msg"])
  expect(parsed).not.toHaveProperty("fiberId")
  expect(parsed).not.toHaveProperty("logLevel")
  return { ...parsed }
}

describe("the daemon's log", () => {
  it.each(["json", "logfmt"] as const)("%s: one line per event; an app turning unknown and recovering is said once each", async (format) => {
    const daemon = await startServe(writeTemp("desired.yaml", desired), apiEnv({ LOG_FORMAT: format }))
    const lines = () => daemon.proc.stderr().split("\n").filter((l) => l !== "").map((l) => parseLine(format, l))
    const about = (msgPart: string) => lines().filter((l) => String(l["msg"]).includes(msgPart) && l["app_id"] === FLAKY)
    const cycles = () => lines().filter((l) => l["msg"] === "reconcile cycle finished").length

    expect((await sim.admin("PUT", `/_sim/apps/${FLAKY}/faults`, { statuses: Array.from({ length: 400 }, () => 503) })).ok).toBe(true)
    await waitFor("the unknown line", async () => (about("is unknown").length > 0 ? true : undefined), 30_000)
    const seen = cycles()
    await waitFor("three more cycles", async () => (cycles() >= seen + 3 ? true : undefined), 30_000)
    expect((await sim.admin("DELETE", `/_sim/apps/${FLAKY}/faults`)).ok).toBe(true)
    await waitFor("the recovery line", async () => (about("observed again").length > 0 ? true : undefined), 30_000)
    const after = cycles()
    await waitFor("two more cycles", async () => (cycles() >= after + 2 ? true : undefined), 30_000)

    const unknown = about("is unknown")
    expect(unknown).toHaveLength(1)
    expect(unknown[0]).toMatchObject({ level: "warn", app: "flaky", reason: "server" })
    expect(String(unknown[0]?.["msg"])).toContain("HTTP 503")
    expect(about("observed again")).toHaveLength(1)
    expect(about("observed again")[0]).toMatchObject({ level: "info", app: "flaky" })
    expect(lines().filter((l) => l["app_id"] === OK && /unknown|observed again/.test(String(l["msg"])))).toEqual([])
    expect(daemon.proc.stderr()).not.toContain(KEY)
    await daemon.proc.stop()
  }, 120_000)
})
