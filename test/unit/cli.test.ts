import { Cause, LogLevel } from "effect"
import { readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { type Invocation, listOfOption, parseArgs, textOf } from "../../src/Cli/Args.js"
import { commands } from "../../src/Cli/Commands.js"
import { helpText } from "../../src/Cli/Help.js"
import { formatLogLine, type LogEvent } from "../../src/Cli/Logging.js"
import { planOutcome, selectApps } from "../../src/Cli/Plan.js"
import type { AppReport, Snapshot } from "../../src/Core/Domain/Report.js"
import { unknownTransitions } from "../../src/Core/Domain/UnknownTransitions.js"
import type { PlanJson } from "../../src/Core/Plan/PlanJson.js"
import { desiredApp } from "../support/builders.js"

const run = (argv: ReadonlyArray<string>): Invocation => {
  const parsed = parseArgs(argv)
  if (parsed._tag !== "Run") throw new Error(`expected a command, got ${JSON.stringify(parsed)}`)
  return parsed.invocation
}

describe("argument parsing", () => {
  it("accepts --log-level before and after the command, as --name value and --name=value", () => {
    expect(run(["--log-level", "debug", "plan"]).logLevel).toBe("debug")
    expect(run(["plan", "--log-level=warn", "-o", "json"]).logLevel).toBe("warn")
    expect(run(["validate", "--log-level", "error"]).logLevel).toBe("error")
    expect(textOf(run(["plan", "--output=json"]), "output")).toBe("json")
  })

  it("applies declared defaults and collects repeated options", () => {
    expect(textOf(run(["validate"]), "output")).toBe("text")
    expect(run(["simulate", "--scenario", "s.yaml"]).values.get("port")).toBe(8787)
    expect(listOfOption(run(["plan", "--app", "a", "--app", "b"]), "app")).toEqual(["a", "b"])
  })

  it("refuses what it does not know, with a hint, rather than ignoring it", () => {
    expect(parseArgs(["plan", "--outptu", "json"])).toMatchObject({ _tag: "Invalid", message: expect.stringContaining("did you mean --output?") })
    expect(parseArgs(["plna"])).toMatchObject({ _tag: "Invalid", message: expect.stringContaining("did you mean plan?") })
    expect(parseArgs(["plan", "--output", "yaml"])).toMatchObject({ _tag: "Invalid", message: expect.stringContaining("text, json") })
    expect(parseArgs(["simulate"])).toMatchObject({ _tag: "Invalid", message: "--scenario is required" })
    expect(parseArgs(["demo", "--port", "eighty"])).toMatchObject({ _tag: "Invalid", message: expect.stringContaining("not an integer") })
    expect(parseArgs(["--log-level", "loud", "serve"])._tag).toBe("Invalid")
    expect(parseArgs(["plan", "extra"])._tag).toBe("Invalid")
    expect(parseArgs(["--wizard"])._tag).toBe("Invalid")
  })

  it("--help and --version win wherever they are; no command is help", () => {
    expect(parseArgs(["plan", "--help"])).toMatchObject({ _tag: "Help", command: { name: "plan" } })
    expect(parseArgs(["-h"])).toMatchObject({ _tag: "Help", command: undefined })
    expect(parseArgs([])).toMatchObject({ _tag: "Help", command: undefined })
    expect(parseArgs(["serve", "--version"])._tag).toBe("Version")
  })
})

describe("help", () => {
  const all = [helpText(undefined), ...commands.map((c) => helpText(c))]

  it("has no filler, no wizard, no escape codes, and usage lines that read like the command", () => {
    for (const text of all) {
      expect(text).not.toContain("A user-defined piece of text")
      expect(text).not.toContain("This setting is optional")
      expect(text).not.toContain("wizard")
      expect(text).not.toContain("\u001b[")
      expect(text).not.toContain("main.js")
    }
    expect(helpText(commands.find((c) => c.name === "serve"))).toMatch(/^Usage: phala-drift serve \[options\]$/m)
    expect(helpText(commands.find((c) => c.name === "simulate"))).toMatch(/^Usage: phala-drift simulate --scenario FILE \[options\]$/m)
  })

  it("shows defaults and lists --log-level under every command", () => {
    const simulate = helpText(commands.find((c) => c.name === "simulate"))
    expect(simulate).toMatch(/--port N +port to listen on \(0 picks a free one\) \(default: 8787\)/)
    expect(simulate).toMatch(/--host HOST +address to bind \(default: 127\.0\.0\.1\)/)
    expect(helpText(commands.find((c) => c.name === "plan"))).toMatch(/--output FORMAT +output format \(one of text, json; default: text\)/)
    for (const command of commands) expect(helpText(command)).toContain("--log-level LEVEL")
  })
})

describe("--app", () => {
  const a = desiredApp({ appId: "a000000000000000000000000000000000000001", name: "payments" })
  const b = desiredApp({ appId: "a000000000000000000000000000000000000002", name: "billing" })
  const c = desiredApp({ appId: "a000000000000000000000000000000000000003", name: "billing" })
  const apps = [a, b, c]

  it("takes an app_id (any case, app_ prefix) or a declared name, exactly", () => {
    expect(selectApps(apps, ["APP_A000000000000000000000000000000000000001"])).toEqual({ _tag: "Selected", apps: [a] })
    expect(selectApps(apps, ["payments"])).toEqual({ _tag: "Selected", apps: [a] })
    expect(selectApps(apps, [])).toEqual({ _tag: "Selected", apps })
    expect(selectApps(apps, ["Payments"])._tag).toBe("Invalid")
  })

  it("a name two apps share is an error naming their ids", () => {
    const result = selectApps(apps, ["billing"])
    expect(result._tag).toBe("Invalid")
    expect(result._tag === "Invalid" ? result.message : "").toContain(`"billing" is the name of 2 apps (${b.appId}, ${c.appId})`)
  })
})

describe("plan exit", () => {
  const plan = (reasons: ReadonlyArray<string | null>, summary: Partial<PlanJson["summary"]>): PlanJson => ({
    format_version: "1.1",
    generated_at: "2026-12-01T00:00:00.000Z",
    summary: { apps: reasons.length, in_sync: 0, out_of_sync: 0, unknown: 0, drifts: 0, ...summary },
    apps: reasons.map((reason, i) => ({
      app_id: String(i),
      name: String(i),
      sync: reason === null ? "in_sync" : "unknown",
      error: reason === null ? null : { reason, status: reason === "auth" ? 401 : 503, message: "x" },
      observed: null,
      drifts: []
    }))
  } as unknown as PlanJson)

  it("an API key the API rejects is exit 1 and says so; other unknown apps stay exit 3", () => {
    expect(planOutcome(plan(["auth", null], { unknown: 1, in_sync: 1 }))).toEqual({ code: 1, note: expect.stringContaining("API key rejected") })
    expect(planOutcome(plan(["server_error", null], { unknown: 1, in_sync: 1 }))).toEqual({ code: 3, note: null })
    expect(planOutcome(plan([null], { in_sync: 1 }))).toEqual({ code: 0, note: null })
  })
})

describe("log lines", () => {
  const event = (overrides: Partial<LogEvent> = {}): LogEvent => ({
    date: new Date("2026-12-01T02:00:00.000Z"),
    level: LogLevel.Warning,
    message: "app payments is unknown: HTTP 503",
    annotations: [["app_id", "a01"], ["status", 503], ["note", "two words"]],
    cause: Cause.empty,
    ...overrides
  })

  it("JSON: ts, level, msg first, then the annotations as fields", () => {
    const line = formatLogLine("json", event())
    expect(line).not.toContain("\n")
    expect(Object.keys(JSON.parse(line))).toEqual(["ts", "level", "msg", "app_id", "note", "status"])
    expect(JSON.parse(line)).toEqual({ ts: "2026-12-01T02:00:00.000Z", level: "warn", msg: "app payments is unknown: HTTP 503", app_id: "a01", note: "two words", status: 503 })
  })

  it("logfmt: quoted only where needed, escaped on one line", () => {
    expect(formatLogLine("logfmt", event({ annotations: [["path", "a\"b\nc"]] })))
      .toBe("ts=2026-12-01T02:00:00.000Z level=warn msg=\"app payments is unknown: HTTP 503\" path=\"a\\\"b\\nc\"")
  })

  it("a list or mapping annotation stays data in JSON and is one quoted JSON value in logfmt", () => {
    const withList = event({ annotations: [["errors", ["desired.yaml:7:13: poll.interval: invalid duration \"soon\""]]] })
    expect(JSON.parse(formatLogLine("json", withList)).errors).toEqual(["desired.yaml:7:13: poll.interval: invalid duration \"soon\""])
    expect(formatLogLine("logfmt", withList)).toContain(`errors="[\\"desired.yaml:7:13: poll.interval: invalid duration \\\\\\"soon\\\\\\"\\"]"`)
  })

  it("a cause or an extra message part is one short field, not a stack trace", () => {
    const failure = new Error("boom")
    const line = JSON.parse(formatLogLine("json", event({ level: LogLevel.Error, message: ["fatal", failure], annotations: [], cause: Cause.die(new TypeError("bad")) })))
    expect(line).toEqual({ ts: "2026-12-01T02:00:00.000Z", level: "error", msg: "fatal", error: "Error: boom", cause: "TypeError: bad" })
  })
})

describe("unknown transitions", () => {
  const report = (sync: AppReport["sync"], reason: "timeout" | null = null): AppReport => ({
    appId: "a01",
    name: "payments",
    desired: desiredApp(),
    sync,
    error: reason === null ? null : { reason, status: null, message: "no response within 5s" },
    observed: null,
    drifts: [],
    cvms: []
  })
  const snap = (...apps: ReadonlyArray<AppReport>): Snapshot => ({ generatedAt: new Date(0), apps } as Snapshot)

  it("once when an app turns unknown, once when it recovers, nothing while it stays", () => {
    const cycles = [snap(report("in_sync")), snap(report("unknown", "timeout")), snap(report("unknown", "timeout")), snap(report("out_of_sync"))]
    const tags = cycles.map((next, i) => unknownTransitions(i === 0 ? undefined : cycles[i - 1], next).map((t) => t._tag))
    expect(tags).toEqual([[], ["TurnedUnknown"], [], ["Recovered"]])
    expect(unknownTransitions(undefined, snap(report("unknown", "timeout")))).toMatchObject([{ _tag: "TurnedUnknown", error: { reason: "timeout" } }])
  })
})

describe("cold start", () => {
  const SRC = fileURLToPath(new URL("../../src", import.meta.url))
  /** Every module main.ts loads before running a command: its static imports, followed through src/. */
  const staticClosure = (entry: string): ReadonlySet<string> => {
    const seen = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      if (!file.startsWith(SRC)) return
      const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")
      for (const m of code.matchAll(/^(?:import|export)\s+(?!type\b)(?:[^"';]*?\sfrom\s+)?"([^"]+)"/gm)) {
        const specifier = m[1] ?? ""
        visit(specifier.startsWith(".") ? resolve(dirname(file), specifier.replace(/\.js$/, ".ts")) : specifier)
      }
    }
    visit(entry)
    return seen
  }

  it("main.ts loads neither Effect, the daemon, the simulator nor prom-client up front", () => {
    const loaded = [...staticClosure(join(SRC, "main.ts"))]
    expect(loaded.some((f) => f.endsWith("Cli/Args.ts"))).toBe(true)
    const heavy = loaded.filter((f) =>
      f === "effect" || f.startsWith("effect/") || f.startsWith("@effect/") || f === "prom-client" ||
      f.includes("/Daemon/") || f.includes("/Simulator/") || f.includes("/Metrics/") || f.includes("/Http/"))
    expect(heavy).toEqual([])
  })
})
