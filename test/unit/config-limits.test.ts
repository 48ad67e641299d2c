import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Redacted } from "effect"
import type { Problem } from "../../src/Config/Diagnostics.js"
import { diagnosticCollector, formatDiagnostic, formatConfigError, invalidReport } from "../../src/Config/Diagnostics.js"
import { locate, parseYaml } from "../../src/Config/Document.js"
import { echo, looksLikeSecret, maskUserinfo, scrub } from "../../src/Core/Echo.js"
import { interpolate } from "../../src/Config/Interpolate.js"
import { aliasNodeBudget } from "../../src/Config/Limits.js"
import { parseConfig } from "../../src/Config/Load.js"
import { fromWire, toWire } from "../../src/Config/Transfer.js"
import { configWarnings } from "../../src/Config/Warnings.js"
import type { DaemonConfig } from "../../src/Core/Domain/App.js"

const KEY = "phak_live_SUPERSECRET_9f8e7d"
const APP = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const env = { PHALA_CLOUD_API_KEY: KEY }
const load = (text: string, e: Record<string, string | undefined> = env) =>
  parseConfig(text, "desired.yaml", e, () => Effect.fail("NotFound"))
const errorsOf = (text: string, e: Record<string, string | undefined> = env) =>
  Effect.flip(load(text, e)).pipe(Effect.map((error) => error.diagnostics.map(formatDiagnostic)))
const withApps = (rest: string) => `version: 1\napps:\n  - app_id: ${APP}\n${rest}`

describe("YAML aliases", () => {
  const laughs = (levels: number) =>
    [
      "version: 1",
      "apps: []",
      "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]",
      ...Array.from({ length: levels }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(", ")}]`),
      ""
    ].join("\n")

  it.effect("a billion laughs is one diagnostic at the alias that crosses the budget", () =>
    Effect.gen(function*() {
      const errors = yield* errorsOf(laughs(9))
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatch(/^desired\.yaml:6:45: a3\[7\]: YAML aliases expand the file by more than 10,000 nodes \(an alias bomb\?\)/)
    }))

  it.effect("an alias refers only to an anchor completed before it: no cycles", () =>
    Effect.gen(function*() {
      expect(yield* errorsOf(`version: 1\napps: []\nx: &x [*x]\n`)).toEqual([
        "desired.yaml:3:8: x[0]: alias *x refers to no earlier anchor &x"
      ])
    }))

  it.effect("ordinary aliases still work, and their values are shared", () =>
    Effect.gen(function*() {
      const apps = Array.from({ length: 50 }, (_, i) => `  - { app_id: ${i.toString(16).padStart(40, "0")}, cvm: *standard }`)
      const text = `version: 1\ndefaults:\n  cvm: &standard { instance_type: tdx.large, vcpu: 4 }\napps:\n${apps.join("\n")}\n`
      const config = yield* load(text)
      expect(config.apps).toHaveLength(50)
      expect(config.apps.every((app) => app.cvm.instance_type === "tdx.large" && app.cvm.vcpu === 4)).toBe(true)
    }))

  it("the budget follows the file's size, within bounds", () => {
    expect(aliasNodeBudget(100)).toBe(10_000)
    expect(aliasNodeBudget(300_000)).toBe(300_000)
    expect(aliasNodeBudget(8 * 1024 * 1024)).toBe(1_000_000)
  })
})

describe("other structural limits", () => {
  it.effect("nesting deeper than 64 levels", () =>
    Effect.gen(function*() {
      const errors = yield* errorsOf(`version: 1\napps: []\ndeep: ${"[".repeat(70)}${"]".repeat(70)}\n`)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatch(/^desired\.yaml:3:\d+: deep(\[0\]){64}: nested more than 64 levels deep$/)
    }))

  it.effect("a file longer than 8 MiB is not parsed", () =>
    Effect.gen(function*() {
      const errors = yield* errorsOf(`version: 1\napps: []\n#${"x".repeat(8 * 1024 * 1024)}\n`)
      expect(errors).toEqual(["desired.yaml:1:1: the file is larger than 8 MiB; not read"])
    }))

  it("${...:-default} nested without end is a reason, not a stack overflow", () => {
    const text = `${"${A:-".repeat(50_000)}x${"}".repeat(50_000)}`
    const result = interpolate(text, {})
    expect(result).toEqual({ _tag: "Failed", reasons: ["${...:-default} nested more than 8 levels deep"] })
  })

  it("a value with a million unset references gives a few reasons", () => {
    const result = interpolate("${NOPE}".repeat(1_000_000), {})
    expect(result).toEqual({ _tag: "Failed", reasons: ["environment variable NOPE is not set"] })
  })
})

describe("syntax errors point at the construct left open", () => {
  it.effect.each([
    ["[", withApps("    replicas: [1, 2\n    status: running\n"), "desired.yaml:4:15: YAML syntax error: this [ is never closed"],
    ["[ at end of file", withApps("    replicas: [1, 2\n"), "desired.yaml:4:15: YAML syntax error: this [ is never closed"],
    ["{", withApps("    replicas: { min: 1\n    status: running\n"), "desired.yaml:4:15: YAML syntax error: this { is never closed"],
    ["\"", `version: 1\nstate_dir: "./data\napps: []\n`, "desired.yaml:2:12: YAML syntax error: this \" is never closed"],
    ["'", `version: 1\nstate_dir: './data\napps: []\n`, "desired.yaml:2:12: YAML syntax error: this ' is never closed"]
  ] as const)("%s", ([, text, expected]) =>
    Effect.gen(function*() {
      const errors = yield* errorsOf(text)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toContain(expected)
      expect(errors[0]).toMatch(/noticed at line \d+, column \d+\)$/)
    }))

  it.effect("nested: each error names its own opener", () =>
    Effect.gen(function*() {
      const errors = yield* errorsOf(`version: 1\napps: []\na: [1, {b: 2\nc: 3\n`)
      expect(errors.map((e) => e.split(": YAML syntax error: ")[1]?.slice(0, 17))).toEqual(["this [ is never c", "this { is never c"])
      expect(errors.map((e) => e.split(":").slice(1, 3).join(":"))).toEqual(["3:4", "3:8"])
    }))
})

describe("many problems: linear work, bounded output", () => {
  it.effect("20,000 unknown keys: the first 100 in file order and a count of the rest", () =>
    Effect.gen(function*() {
      const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}: ${i}\n`).join("")
      const error = yield* Effect.flip(load(`version: 1\napps: []\n${keys}`))
      expect(error.diagnostics).toHaveLength(100)
      expect(error.omitted).toBe(19_900)
      expect(error.diagnostics.map((d) => d.line)).toEqual(Array.from({ length: 100 }, (_, i) => i + 3))
      expect(formatConfigError(error).split("\n").at(-1)).toBe("… and 19900 more errors")
      expect(invalidReport(error).error_count).toBe(20_000)
    }))

  it("the collector keeps the first ones by position whatever the order they come in", () => {
    const collector = diagnosticCollector(100)
    for (let line = 100_000; line >= 1; line--) {
      collector.add({ file: "f", line, column: 1, path: "", message: "m" })
      if (line % 2 === 0) collector.add({ file: "f", line, column: 1, path: "", message: "m" })
    }
    const { omitted, shown } = collector.finish()
    expect(shown.map((d) => d.line)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(omitted).toBe(99_900)
  })

  it("placing N problems in one mapping reads its N keys about once, not N times each", () => {
    const n = 5_000
    const { source } = parseYaml(Array.from({ length: n }, (_, i) => `k${i}: ${i}\n`).join(""), "f")
    const map = source.doc.contents
    if (map === null || !("items" in map) || !Array.isArray(map.items)) throw new Error("expected a mapping")
    let reads = 0
    map.items = new Proxy(map.items, {
      get: (target, key, receiver) => {
        if (typeof key === "string" && /^\d+$/.test(key)) reads++
        return Reflect.get(target, key, receiver)
      }
    })
    const problems: ReadonlyArray<Problem> = Array.from({ length: n }, (_, i) => ({ path: [`k${n - 1 - i}`], at: "key", message: "m" }))
    const placed = problems.map((p) => locate(source, p))
    expect(placed[0]?.line).toBe(n)
    expect(placed[n - 1]?.line).toBe(1)
    expect(reads).toBeLessThanOrEqual(3 * n)
  })

  it.effect("four times the keys costs about four times the CPU, not sixteen", () =>
    Effect.gen(function*() {
      const file = (n: number) => `version: 1\napps: []\n${Array.from({ length: n }, (_, i) => `k${i}: ${i}\n`).join("")}`
      const cpu = (text: string) =>
        Effect.gen(function*() {
          const start = process.cpuUsage()
          yield* Effect.flip(load(text))
          const used = process.cpuUsage(start)
          return used.user + used.system
        })
      // the least of three runs each: what the work costs, without the machine's other load
      const least = (text: string) => Effect.map(Effect.all([cpu(text), cpu(text), cpu(text)]), (runs) => Math.min(...runs))
      yield* cpu(file(2_000))
      const small = yield* least(file(4_000))
      const large = yield* least(file(16_000))
      expect(large / small).toBeLessThan(9)
    }), 120_000)
})

describe("secrets and long values in messages", () => {
  it("looksLikeSecret: key prefixes and random-looking tokens, not words or names", () => {
    for (const secret of [KEY, "PHAK_ABC", "ghp_Zx81bQ4mN2pL7cV9sD3fK0aa", APP, "d41d8cd98f00b204e9800998ecf8427e", "k3j4h5g6f7d8s9a0q1w2e3r4"]) {
      expect(looksLikeSecret(secret), secret).toBe(true)
    }
    for (const plain of ["payments-api-replica-1", "MyService2Production", "dstack-0.5.5", "https://hooks.example.com/phala", "30 seconds", "EU-WEST-1"]) {
      expect(looksLikeSecret(plain), plain).toBe(false)
    }
  })

  it("echo: quoted, cut at 60 characters with the length, secrets and URL credentials never shown", () => {
    expect(echo("paused")).toBe(`"paused"`)
    expect(echo("x".repeat(1_000_000))).toBe(`"${"x".repeat(60)}…" (1000000 characters)`)
    expect(echo(`token ${KEY}`)).toBe("a value that looks like a secret (not shown)")
    expect(echo("ftp://user:hunter2@host/x")).toBe(`"ftp://<redacted>@host/x"`)
    expect(maskUserinfo("see http://a:b@h1/ and https://c@h2?x=@y")).toBe("see http://<redacted>@h1/ and https://<redacted>@h2?x=@y")
    expect(echo("🚀".repeat(61))).toBe(`"${"🚀".repeat(60)}…" (122 characters)`)
  })

  it("scrub: library messages keep their words, lose secrets, stay short", () => {
    expect(scrub(`Unresolved tag: !${KEY}`)).toBe("Unresolved tag: !<redacted>")
    expect(scrub("Not a YAML token: " + "a ".repeat(10_000)).length).toBeLessThanOrEqual(241)
  })

  it.effect.each([
    ["api.url", `api:\n  url: https://ops:pa55word-77@api.example.com/api/v1\n`, "api.url"],
    ["alertmanager url", `alerting:\n  receivers: [{ name: am, type: alertmanager, urls: ["http://u:pa55word-77@127.0.0.1:9093"] }]\n  default_receivers: [am]\n`, "alerting.receivers[0].urls[0]"],
    ["webhook url", `alerting:\n  receivers: [{ name: w, type: webhook, url: "https://u:pa55word-77@h.example.com/x" }]\n  default_receivers: [w]\n`, "alerting.receivers[0].url"],
    ["slack url", `alerting:\n  receivers: [{ name: s, type: slack, webhook_url: "https://u:pa55word-77@h.example.com/x" }]\n  default_receivers: [s]\n`, "alerting.receivers[0].webhook_url"],
    ["external_url", `alerting:\n  external_url: "https://u:pa55word-77@drift.example.com"\n`, "alerting.external_url"]
  ] as const)("URL credentials in %s are rejected, not shown", ([, block, path]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load(withApps(block)))
      const outputs = [formatConfigError(error), JSON.stringify(invalidReport(error))].join("\n")
      expect(error.diagnostics.map((d) => d.path)).toContain(path)
      expect(outputs).toContain("must not contain a user name or password")
      expect(outputs).not.toContain("pa55word-77")
    }))

  it.effect("URL credentials in an env override or a url_file are rejected, not shown", () =>
    Effect.gen(function*() {
      const fromEnv = yield* Effect.flip(load(withApps(""), { ...env, PHALA_CLOUD_API_URL: "https://a:pa55word-77@x.example.com/api/v1" }))
      expect(formatConfigError(fromEnv)).toContain("api.url: environment variable PHALA_CLOUD_API_URL: must not contain a user name or password")
      const fromFile = yield* Effect.flip(parseConfig(
        withApps(`alerting:\n  receivers: [{ name: w, type: webhook, url_file: hook.url }]\n  default_receivers: [w]\n`),
        "desired.yaml",
        env,
        () => Effect.succeed("https://a:pa55word-77@hooks.example.com/x\n")
      ))
      expect(formatConfigError(fromFile)).toContain("the URL in it must not contain a user name or password")
      for (const error of [fromEnv, fromFile]) expect(formatConfigError(error)).not.toContain("pa55word-77")
    }))

  it.effect.each([
    ["a key file", `${KEY}\n`],
    ["a .env file", `PHALA_CLOUD_API_KEY=${KEY}\nDB_PASSWORD=hunter2\n`],
    ["a number", "123456789012\n"]
  ] as const)("the config pointed at %s does not echo it", ([, text]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load(text))
      const out = [formatConfigError(error), JSON.stringify(invalidReport(error))].join("\n")
      expect(out).toContain(`the config must be a mapping with "version: 1" and "apps", got a`)
      for (const secret of [KEY, "hunter2", "123456789012"]) expect(out).not.toContain(secret)
    }))

  it.effect("a long unknown key (YAML allows 1024 characters) or a megabyte-long value gives short messages", () =>
    Effect.gen(function*() {
      const errors = yield* errorsOf(withApps(`    ${"y".repeat(1000)}: 1\n    status: ${"y".repeat(1024 * 1024)}\n`))
      expect(errors).toHaveLength(2)
      for (const line of errors) expect(line.length).toBeLessThan(300)
    }))
})

describe("duration bounds", () => {
  it.effect.each([
    ["api.timeout", `api:\n  timeout: 11m\n`, "api.timeout: must be at most 10m"],
    ["poll.interval", `poll:\n  interval: 700000000h\n`, "poll.interval: must be at most 24h"],
    ["for", `defaults:\n  for: 721h\n`, "defaults.for: must be at most 720h"],
    ["keep_firing_for", `defaults:\n  keep_firing_for: 800h\n`, "defaults.keep_firing_for: must be at most 720h"],
    ["resend_interval", `alerting:\n  resend_interval: 25h\n`, "alerting.resend_interval: must be at most 24h"],
    ["receiver timeout", `alerting:\n  receivers: [{ name: am, type: alertmanager, urls: [http://127.0.0.1:9093], timeout: 6m }]\n  default_receivers: [am]\n`, "alerting.receivers[0].timeout: must be at most 5m"]
  ] as const)("%s", ([, block, expected]) =>
    Effect.gen(function*() {
      const errors = yield* errorsOf(withApps(block))
      expect(errors.some((e) => e.includes(expected)), errors.join("\n")).toBe(true)
    }))

  it.effect("the maxima themselves are accepted", () =>
    Effect.gen(function*() {
      const config = yield* load(withApps(`api:\n  timeout: 10m\npoll:\n  interval: 24h\ndefaults:\n  for: 720h\n`))
      expect(Duration.toMillis(config.api.timeout)).toBe(600_000)
    }))
})

describe("configWarnings", () => {
  const configWith = (timeout: string, retries: number, poll: DaemonConfig["poll"]) =>
    Effect.map(load(withApps(`api:\n  timeout: ${timeout}\n  retries: ${retries}\n`)), (c): DaemonConfig => ({ ...c, poll }))
  const every = (s: number): DaemonConfig["poll"] => ({ _tag: "Interval", interval: Duration.seconds(s) })

  it.effect("none for the defaults (10s × 4 attempts, 30s): retries are cut at the next tick by design", () =>
    Effect.map(load(withApps("")), (config) => expect(configWarnings(config)).toEqual([])))

  it.effect("a timeout as long as the interval", () =>
    Effect.gen(function*() {
      const warnings = configWarnings(yield* configWith("30s", 0, every(30)))
      expect(warnings.map((w) => w.path)).toEqual(["api.timeout"])
      expect(warnings[0]?.message).toContain("a request may take as long as the poll interval (api.timeout 30s, poll.interval 30s)")
    }))

  it.effect("a timeout that leaves no room for one retry, only when retrying", () =>
    Effect.gen(function*() {
      expect(configWarnings(yield* configWith("20s", 3, every(30)))[0]?.message).toContain("two attempts take longer than the poll interval")
      expect(configWarnings(yield* configWith("20s", 0, every(30)))).toEqual([])
      expect(configWarnings(yield* configWith("15s", 3, every(30)))).toEqual([])
    }))

  it.effect("cron schedules are not checked", () =>
    Effect.gen(function*() {
      expect(configWarnings(yield* configWith("5m", 3, { _tag: "Cron", expression: "* * * * *" }))).toEqual([])
    }))
})

describe("config transfer between threads", () => {
  it.effect("a full config survives structured clone, secrets and durations included", () =>
    Effect.gen(function*() {
      const config = yield* load(withApps(`    for: 90s\n    maintenance: [{ start: 2026-12-01T02:00:00Z, end: 2026-12-01T04:00:00Z }]
server:
  auth: { bearer_token: tok-123 }
alerting:
  receivers: [{ name: w, type: webhook, url: "https://hooks.example.com/x", hmac_secret: s3 }]
  default_receivers: [w]
`))
      const back = fromWire(structuredClone(toWire(config))) as DaemonConfig
      expect(back).toEqual(config)
      expect(Redacted.value(back.api.apiKey)).toBe(KEY)
      expect(back.server.auth?._tag === "Bearer" && Redacted.value(back.server.auth.token)).toBe("tok-123")
      expect(Duration.toMillis(back.apps[0]?.for ?? Duration.zero)).toBe(90_000)
      expect(back.apps[0]?.maintenance[0]?.start).toBeInstanceOf(Date)
      expect(JSON.stringify(toWire({ x: 1 }))).toBe(`{"x":1}`)
      // a key called __proto__ (a label's, say) stays a key on both sides and sets no prototype
      const labels: Record<string, unknown> = JSON.parse(`{"__proto__": "x", "team": "a"}`)
      const arrived = fromWire(structuredClone(toWire({ labels }))) as { labels: Record<string, unknown> }
      expect(Object.keys(arrived.labels)).toEqual(["__proto__", "team"])
      expect(Object.getPrototypeOf(arrived.labels)).toBe(Object.prototype)
      expect(Object.getOwnPropertyDescriptor(arrived.labels, "__proto__")?.value).toBe("x")
    }))

  it("refuses what it cannot rebuild, instead of sending it broken", () => {
    expect(() => toWire({ when: new Map() })).toThrow("cannot send a Map")
    expect(() => toWire({ f: () => 1 })).toThrow("cannot send a function")
  })
})
