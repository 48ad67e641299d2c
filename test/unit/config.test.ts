import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Redacted } from "effect"
import * as Path from "node:path"
import type { ReadSecretFile } from "../../src/Config/Build.js"
import { formatDiagnostic, formatDiagnostics, invalidReport } from "../../src/Config/Diagnostics.js"
import { loadConfig, parseConfig, resolveConfigPath, validReport } from "../../src/Config/Load.js"

const fixtures = Path.resolve(import.meta.dirname, "../fixtures/config")
const KEY = "phak_live_SUPERSECRET_9f8e7d"
const APP = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const APP2 = "0123456789abcdef0123456789abcdef01234567"
const env = { PHALA_CLOUD_API_KEY: KEY }

const noFiles: ReadSecretFile = () => Effect.fail("NotFound")
const load = (text: string, e: Record<string, string | undefined> = env, read: ReadSecretFile = noFiles) =>
  parseConfig(text, "desired.yaml", e, read)
const errorsOf = (text: string, e: Record<string, string | undefined> = env, read: ReadSecretFile = noFiles) =>
  Effect.flip(load(text, e, read)).pipe(Effect.map((error) => error.diagnostics.map(formatDiagnostic)))

/** `version: 1` and one app, then `rest`; the app's keys start on line 4 at column 5. */
const withApp = (appLines: string, rest = "") => `version: 1\napps:\n  - app_id: ${APP}\n${appLines}${rest}`

describe("loadConfig: valid files", () => {
  it.effect("decodes the DESIGN §3 example", () =>
    Effect.gen(function*() {
      const file = Path.join(fixtures, "full.yaml")
      const config = yield* loadConfig(file, env)
      expect(config.source).toBe(file)
      expect(config.api.url).toBe("https://cloud-api.phala.com/api/v1")
      expect(Redacted.value(config.api.apiKey)).toBe(KEY)
      expect(config.api.apiVersion).toBe("2025-10-28")
      expect(Duration.toMillis(config.api.timeout)).toBe(10_000)
      expect(config.api.retries).toBe(3)
      expect(config.api.concurrency).toBe(8)
      expect(config.api.maxResponseBytes).toBe(8 * 1024 * 1024)
      expect(config.poll).toEqual({ _tag: "Interval", interval: Duration.seconds(30) })
      expect(config.server).toEqual({ host: "0.0.0.0", port: 9477, lifecycle: false, auth: null, tls: null, phalaWebhook: null })
      expect(config.stateDir).toBe("./data")
      expect(config.apps).toEqual([{
        appId: APP,
        name: "payments-api",
        labels: { team: "payments" },
        replicas: { min: 2, max: 2 },
        status: "running",
        cvm: {
          instance_type: "tdx.large",
          vcpu: 4,
          memory_mb: 8192,
          disk_gb: 20,
          region: "EU-WEST-1",
          base_image: "dstack-0.5.5",
          kms_type: "phala",
          node: "prod6"
        },
        severity: "critical",
        for: Duration.minutes(1),
        keepFiringFor: null,
        maintenance: [],
        remediate: false
      }])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("applies built-in defaults for a minimal file", () =>
    Effect.gen(function*() {
      const config = yield* load(`version: 1\napps:\n  - app_id: app_${APP.toUpperCase()}\n`)
      expect(config.apps).toEqual([{
        appId: APP,
        name: null,
        labels: {},
        replicas: { min: 1, max: 1 },
        status: "running",
        cvm: {},
        severity: "warning",
        for: Duration.minutes(2),
        keepFiringFor: null,
        maintenance: [],
        remediate: false
      }])
      expect(config.poll).toEqual({ _tag: "Interval", interval: Duration.seconds(30) })
      expect(config.server.port).toBe(9477)
    }))

  it.effect("merges defaults key-wise into every app, the app's value winning", () =>
    Effect.gen(function*() {
      const config = yield* load(`version: 1
defaults:
  status: Stopped
  severity: page
  for: 30s
  keep_firing_for: 5m
  replicas: { min: 1 }
  labels: { team: core, env: prod, tier: 042, canary: true }
  cvm: { region: US-EAST-1, vcpu: 2 }
apps:
  - app_id: ${APP}
    labels: { team: payments }
    cvm: { vcpu: 4 }
    status: running
  - app_id: ${APP2}
    replicas: 0
`)
      const [first, second] = config.apps
      expect(first).toMatchObject({
        status: "running",
        severity: "page",
        labels: { team: "payments", env: "prod" },
        cvm: { region: "US-EAST-1", vcpu: 4 },
        replicas: { min: 1, max: null }
      })
      expect(first?.for).toEqual(Duration.seconds(30))
      expect(first?.keepFiringFor).toEqual(Duration.minutes(5))
      expect(second).toMatchObject({ status: "stopped", replicas: { min: 0, max: 0 } })
      expect(second?.labels).toEqual({ team: "core", env: "prod", tier: "042", canary: "true" })
    }))

  it.effect("reads listen forms, auth and cron", () =>
    Effect.gen(function*() {
      const config = yield* load(withApp(
        "",
        `poll:\n  cron: "*/30 * * * * *"\nserver:\n  listen: "[::1]:9000"\n  lifecycle: true\n  auth:\n    basic: { username: ops, password: hunter22 }\n`
      ))
      expect(config.poll).toEqual({ _tag: "Cron", expression: "*/30 * * * * *" })
      expect(config.server).toMatchObject({ host: "::1", port: 9000, lifecycle: true })
      expect(config.server.auth?._tag).toBe("Basic")
      const bearer = yield* load(withApp("", `server:\n  listen: :8080\n  auth: { bearer_token: tok }\n`))
      expect(bearer.server).toMatchObject({ host: "0.0.0.0", port: 8080 })
      expect(bearer.server.auth?._tag === "Bearer" && Redacted.value(bearer.server.auth.token)).toBe("tok")
    }))

  it.effect("api_key_file is relative to the config file and trimmed", () =>
    Effect.gen(function*() {
      const config = yield* loadConfig(Path.join(fixtures, "key-file/desired.yaml"), {})
      expect(Redacted.value(config.api.apiKey)).toBe("phak_from_file_0123456789")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("strips the trailing slash of api.url", () =>
    Effect.gen(function*() {
      const config = yield* load(withApp("", "api:\n  url: http://127.0.0.1:8787/api/v1/\n"))
      expect(config.api.url).toBe("http://127.0.0.1:8787/api/v1")
    }))
})

describe("environment", () => {
  const file = withApp("", "api:\n  url: https://file.example/api/v1\n  api_key: from-file-key\n")

  it.effect("PHALA_CLOUD_API_URL wins over PHALA_CLOUD_API_PREFIX, which wins over the file", () =>
    Effect.gen(function*() {
      const both = yield* load(file, {
        PHALA_CLOUD_API_URL: "https://url.example/api/v1/",
        PHALA_CLOUD_API_PREFIX: "https://prefix.example/api/v1"
      })
      expect(both.api.url).toBe("https://url.example/api/v1")
      const prefix = yield* load(file, { PHALA_CLOUD_API_PREFIX: "https://prefix.example/api/v1" })
      expect(prefix.api.url).toBe("https://prefix.example/api/v1")
      const none = yield* load(file, {})
      expect(none.api.url).toBe("https://file.example/api/v1")
    }))

  it.effect("a non-empty PHALA_CLOUD_API_KEY overrides the file's key", () =>
    Effect.gen(function*() {
      expect(Redacted.value((yield* load(file, env)).api.apiKey)).toBe(KEY)
      expect(Redacted.value((yield* load(file, { PHALA_CLOUD_API_KEY: "" })).api.apiKey)).toBe("from-file-key")
    }))

  it.effect("an invalid env URL is reported against api.url", () =>
    Effect.gen(function*() {
      expect(yield* errorsOf(file, { PHALA_CLOUD_API_URL: "cloud-api" })).toEqual([
        `desired.yaml:5:8: api.url: environment variable PHALA_CLOUD_API_URL: "cloud-api" is not an http(s) URL`
      ])
    }))

  it.effect("interpolates ${VAR}, ${VAR:-default} and $$, re-typing unquoted scalars", () =>
    Effect.gen(function*() {
      const config = yield* load(
        withApp(
          "    replicas: ${N}\n    name: ${NAME:-unnamed}\n    severity: \"$$${SEV}\"\n    labels:\n      build: ${BUILD}\n",
          "server:\n  lifecycle: ${LIFECYCLE}\n"
        ),
        { ...env, N: "3", SEV: "x", BUILD: "42", LIFECYCLE: "true" }
      )
      expect(config.apps[0]).toMatchObject({
        replicas: { min: 3, max: 3 },
        name: "unnamed",
        severity: "$x",
        labels: { build: "42" }
      })
      expect(config.server.lifecycle).toBe(true)
    }))

  it.effect("does not let an env value inject YAML structure", () =>
    Effect.gen(function*() {
      const config = yield* load(withApp("    name: ${NAME}\n"), { ...env, NAME: "x\n    replicas: 9" })
      expect(config.apps[0]?.name).toBe("x\n    replicas: 9")
      expect(config.apps[0]?.replicas).toEqual({ min: 1, max: 1 })
    }))

  it.effect("an unset variable is reported at its scalar, by name", () =>
    Effect.gen(function*() {
      expect(yield* errorsOf(withApp("    replicas: ${N}\n"), env)).toEqual([
        "desired.yaml:4:15: apps[0].replicas: environment variable N is not set"
      ])
    }))

  it.effect("a quoted interpolation stays a string", () =>
    Effect.gen(function*() {
      expect(yield* errorsOf(withApp("    replicas: \"${N}\"\n"), { ...env, N: "3" })).toEqual([
        `desired.yaml:4:15: apps[0].replicas: must be a non-negative integer or { min: n, max: m }, got "3"`
      ])
    }))

  it("resolveConfigPath: flag, then PHALA_DRIFT_CONFIG, then config/desired.yaml", () => {
    expect(resolveConfigPath("a.yaml", { PHALA_DRIFT_CONFIG: "b.yaml" })).toBe("a.yaml")
    expect(resolveConfigPath(undefined, { PHALA_DRIFT_CONFIG: "b.yaml" })).toBe("b.yaml")
    expect(resolveConfigPath(undefined, {})).toBe("config/desired.yaml")
  })
})

describe("diagnostics: one rule at a time", () => {
  const cases: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
    ["version missing", `apps:\n  - app_id: ${APP}\n`, [`desired.yaml:1:1: missing required key "version"`]],
    ["version 2", `version: 2\napps: []\n`, ["desired.yaml:1:10: version: must be 1 (the only supported version), got 2"]],
    ["apps missing", `version: 1\n`, [`desired.yaml:1:1: missing required key "apps"`]],
    ["apps not a list", `version: 1\napps: foo\n`, [`desired.yaml:2:7: apps: must be a list of apps, got "foo"`]],
    ["not a mapping", `- 1\n`, [`desired.yaml:1:1: the config must be a mapping with "version: 1" and "apps", got a list`]],
    [
      "unknown top-level key with suggestion",
      withApp("", "stat_dir: ./x\n"),
      [`desired.yaml:4:1: stat_dir: unknown key "stat_dir", did you mean "state_dir"?`]
    ],
    [
      "unknown app key with suggestion",
      withApp("    replcas: 2\n"),
      [`desired.yaml:4:5: apps[0].replcas: unknown key "replcas", did you mean "replicas"?`]
    ],
    ["unknown key without suggestion", withApp("    colour: red\n"), [`desired.yaml:4:5: apps[0].colour: unknown key "colour"`]],
    [
      "unknown cvm key",
      withApp("    cvm:\n      regoin: x\n"),
      [`desired.yaml:5:7: apps[0].cvm.regoin: unknown key "regoin", did you mean "region"?`]
    ],
    ["api.url scheme", withApp("", "api:\n  url: ftp://example.com\n"), [
      `desired.yaml:5:8: api.url: "ftp://example.com" is not an http(s) URL`
    ]],
    ["api key and key file", withApp("", "api:\n  api_key: a-literal-key\n  api_key_file: k\n"), [
      "desired.yaml:5:3: api: set only one of api_key, api_key_file"
    ]],
    ["api_version", withApp("", "api:\n  api_version: 2025/10/28\n"), [
      `desired.yaml:5:16: api.api_version: must be a date like "2025-10-28", got "2025/10/28"`
    ]],
    ["timeout without unit", withApp("", "api:\n  timeout: 10\n"), [
      `desired.yaml:5:12: api.timeout: invalid duration "10" (use e.g. 500ms, 30s, 2m, 1h)`
    ]],
    ["retries range", withApp("", "api:\n  retries: 11\n  concurrency: 0\n"), [
      "desired.yaml:5:12: api.retries: must be an integer between 0 and 10, got 11",
      "desired.yaml:6:16: api.concurrency: must be an integer between 1 and 256, got 0"
    ]],
    ["max_response_bytes range", withApp("", "api:\n  max_response_bytes: 1000\n"), [
      "desired.yaml:5:23: api.max_response_bytes: must be an integer between 65536 and 268435456, got 1000"
    ]],
    ["poll interval words", withApp("", "poll:\n  interval: 30 seconds\n"), [
      `desired.yaml:5:13: poll.interval: invalid duration "30 seconds" (use e.g. 500ms, 30s, 2m, 1h)`
    ]],
    ["poll interval too short", withApp("", "poll:\n  interval: 500ms\n"), [
      `desired.yaml:5:13: poll.interval: must be at least 1s, got "500ms"`
    ]],
    ["poll both", withApp("", "poll:\n  interval: 1m\n  cron: \"* * * * *\"\n"), [
      "desired.yaml:5:3: poll: set only one of interval, cron"
    ]],
    ["poll cron", withApp("", "poll:\n  cron: \"61 * * * *\"\n"), [
      `desired.yaml:5:9: poll.cron: invalid cron expression "61 * * * *" (61 is a invalid expression for minute); node-cron syntax: [second] minute hour day month weekday`
    ]],
    ["listen", withApp("", "server:\n  listen: localhost\n"), [
      `desired.yaml:5:11: server.listen: invalid listen address "localhost" (use host:port, [ipv6]:port or :port, port 1-65535)`
    ]],
    ["listen port", withApp("", "server:\n  listen: 0.0.0.0:70000\n"), [
      `desired.yaml:5:11: server.listen: invalid listen address "0.0.0.0:70000" (use host:port, [ipv6]:port or :port, port 1-65535)`
    ]],
    ["lifecycle", withApp("", "server:\n  lifecycle: yes\n"), [
      `desired.yaml:5:14: server.lifecycle: must be true or false, got "yes"`
    ]],
    ["auth two kinds", withApp("", "server:\n  auth:\n    bearer_token: t\n    basic: { username: u, password: p }\n"), [
      "desired.yaml:6:5: server.auth: set only one of bearer_token, basic"
    ]],
    ["basic without username", withApp("", "server:\n  auth:\n    basic: { password: p }\n"), [
      `desired.yaml:6:12: server.auth.basic: missing required key "username"`
    ]],
    ["app_id format", `version: 1\napps:\n  - app_id: 2a7b\n`, [
      `desired.yaml:3:13: apps[0].app_id: must be 40 hex characters (an "app_" prefix is allowed), got "2a7b"`
    ]],
    ["app_id missing", `version: 1\napps:\n  - name: x\n`, [`desired.yaml:3:5: apps[0]: missing required key "app_id"`]],
    ["duplicate app_id", `version: 1\napps:\n  - app_id: ${APP}\n  - app_id: ${APP2}\n  - app_id: APP_${APP.toUpperCase()}\n`, [
      `desired.yaml:5:13: apps[2].app_id: duplicate app_id ${APP} (first declared at apps[0], line 3)`
    ]],
    ["empty name", withApp("    name: \"\"\n"), [`desired.yaml:4:11: apps[0].name: must be a non-empty string, got ""`]],
    ["label names", withApp("    labels:\n      team-name: a\n      severity: b\n      __x: c\n      ok_1: d\n"), [
      `desired.yaml:5:7: apps[0].labels.team-name: invalid label name "team-name" (use letters, digits and _, not starting with a digit)`,
      `desired.yaml:6:7: apps[0].labels.severity: label name "severity" is reserved (phala-drift sets it)`,
      `desired.yaml:7:7: apps[0].labels.__x: label name "__x" is reserved (names starting with __ are for internal use)`
    ]],
    ["replicas min > max", withApp("    replicas: { min: 3, max: 2 }\n"), [
      "desired.yaml:4:15: apps[0].replicas: min (3) must be <= max (2)"
    ]],
    ["replicas negative", withApp("    replicas: -1\n"), [
      "desired.yaml:4:15: apps[0].replicas: must be a non-negative integer or { min: n, max: m }, got -1"
    ]],
    ["replicas bad min", withApp("    replicas:\n      min: x\n      mx: 3\n"), [
      `desired.yaml:5:12: apps[0].replicas.min: must be an integer >= 0, got "x"`,
      `desired.yaml:6:7: apps[0].replicas.mx: unknown key "mx", did you mean "max"?`
    ]],
    ["status", withApp("    status: paused\n"), [
      `desired.yaml:4:13: apps[0].status: must be one of running, stopped, got "paused"`
    ]],
    ["cvm ints", withApp("    cvm: { vcpu: 0, memory_mb: 1.5 }\n"), [
      "desired.yaml:4:18: apps[0].cvm.vcpu: must be an integer >= 1, got 0",
      "desired.yaml:4:32: apps[0].cvm.memory_mb: must be an integer >= 1, got 1.5"
    ]],
    ["severity and for", withApp("    severity: \"\"\n    for: abc\n"), [
      `desired.yaml:4:15: apps[0].severity: must be a non-empty string, got ""`,
      `desired.yaml:5:10: apps[0].for: invalid duration "abc" (use e.g. 500ms, 30s, 2m, 1h)`
    ]],
    ["defaults are checked too", `version: 1\ndefaults:\n  keep_firing_for: -1m\napps: []\n`, [
      `desired.yaml:3:20: defaults.keep_firing_for: invalid duration "-1m" (use e.g. 500ms, 30s, 2m, 1h)`
    ]]
  ]
  it.effect.each(cases)("%s", ([, text, expected]) =>
    Effect.gen(function*() {
      expect(yield* errorsOf(text)).toEqual(expected)
    }))

  it.effect("no API key anywhere points at api, or at the file start", () =>
    Effect.gen(function*() {
      expect(yield* errorsOf(withApp("", "api:\n  retries: 1\n"), {})).toEqual([
        `desired.yaml:5:3: api: no API key: set api.api_key (e.g. "\${PHALA_CLOUD_API_KEY}"), api.api_key_file, or the PHALA_CLOUD_API_KEY environment variable`
      ])
      expect(yield* errorsOf(withApp(""), {})).toEqual([
        `desired.yaml:1:1: no API key: set api.api_key (e.g. "\${PHALA_CLOUD_API_KEY}"), api.api_key_file, or the PHALA_CLOUD_API_KEY environment variable`
      ])
    }))

  it.effect("an unreadable api_key_file is reported at that key", () =>
    Effect.gen(function*() {
      expect(yield* errorsOf(withApp("", "api:\n  api_key_file: nope.txt\n"), {})).toEqual([
        `desired.yaml:5:17: api.api_key_file: cannot use secret file "nope.txt": NotFound`
      ])
      expect(yield* errorsOf(withApp("", "api:\n  api_key_file: empty.txt\n"), {}, () => Effect.succeed(" \n"))).toEqual([
        `desired.yaml:5:17: api.api_key_file: cannot use secret file "empty.txt": the file is empty`
      ])
    }))
})

describe("diagnostics: several at once", () => {
  it.effect("reports all five errors of one file", () =>
    Effect.gen(function*() {
      const file = Path.join(fixtures, "five-errors.yaml")
      const error = yield* Effect.flip(loadConfig(file, env))
      expect(formatDiagnostics(error.diagnostics).split("\n")).toEqual([
        `${file}:4:3: api.timout: unknown key "timout", did you mean "timeout"?`,
        `${file}:6:13: poll.interval: invalid duration "30 seconds" (use e.g. 500ms, 30s, 2m, 1h)`,
        `${file}:9:15: apps[0].replicas: min (3) must be <= max (2)`,
        `${file}:10:13: apps[0].status: must be one of running, stopped, got "paused"`,
        `${file}:11:13: apps[1].app_id: duplicate app_id ${APP} (first declared at apps[0], line 8)`
      ])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("reports every YAML syntax error with its position", () =>
    Effect.gen(function*() {
      const file = Path.join(fixtures, "syntax-error.yaml")
      const error = yield* Effect.flip(loadConfig(file, env))
      expect(formatDiagnostics(error.diagnostics).split("\n")).toEqual([
        `${file}:2:1: YAML syntax error: Tabs are not allowed as indentation`,
        `${file}:3:6: YAML syntax error: this [ is never closed (Flow sequence in block collection must be sufficiently indented and end with a ]; noticed at line 4, column 1)`
      ])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("reports every duplicate mapping key at the later key", () =>
    Effect.gen(function*() {
      expect(yield* errorsOf(`version: 1\napps: []\nversion: 1\napi: { api_key: a, api_key: b }\n`)).toEqual([
        `desired.yaml:3:1: version: duplicate key "version"`,
        `desired.yaml:4:20: api.api_key: duplicate key "api_key"`
      ])
    }))

  it.effect("a missing config file is one diagnostic", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadConfig(Path.join(fixtures, "does-not-exist.yaml"), env))
      expect(error.diagnostics).toHaveLength(1)
      expect(error.diagnostics[0]?.message).toMatch(/^cannot read config file: NotFound/)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

describe("secrets", () => {
  const nearKey = [
    withApp("", `api:\n  api_key: ["${KEY}"]\n`),
    withApp("", `api:\n  api_key: ${KEY}\n  api_key_file: x\n  timeout: ${KEY}\n`),
    withApp("", `api:\n  api_key: "${KEY}\n`),
    withApp("", `api:\n  api_key: ${KEY}\n  url: ${KEY}\n`),
    withApp("", `api:\n  api_key: \${PHALA_CLOUD_API_KEY}\n  api_kye: \${PHALA_CLOUD_API_KEY}\n  retries: \${PHALA_CLOUD_API_KEY}\n`),
    withApp("", `server:\n  auth: { basic: { username: u, password: ${KEY}, password_file: ${KEY} } }\n`)
  ]
  it.effect.each(nearKey.map((text, i) => [i, text] as const))("case %i: the key never appears in errors", ([, text]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load(text, env))
      expect(error.diagnostics.length).toBeGreaterThan(0)
      const outputs = [String(error), error.message, formatDiagnostics(error.diagnostics), JSON.stringify(invalidReport(error))]
      for (const out of outputs) expect(out).not.toContain(KEY)
    }))

  it.effect("the decoded key is Redacted", () =>
    Effect.gen(function*() {
      const config = yield* load(withApp(""), env)
      expect(String(config.api.apiKey)).not.toContain(KEY)
      expect(JSON.stringify(validReport("desired.yaml", { config, notes: [] }))).not.toContain(KEY)
    }))
})

describe("reports for validate", () => {
  it.effect("invalid: file, line, column, path, message per error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load(withApp("    status: paused\n")))
      expect(invalidReport(error)).toEqual({
        valid: false,
        errors: [{
          file: "desired.yaml",
          line: 4,
          column: 13,
          path: "apps[0].status",
          message: `must be one of running, stopped, got "paused"`
        }],
        error_count: 1
      })
    }))

  it.effect("valid: a summary without secrets", () =>
    Effect.gen(function*() {
      const config = yield* load(withApp("", "server:\n  listen: \"[::1]:9000\"\n"))
      expect(validReport("desired.yaml", { config, notes: [] })).toEqual({
        valid: true,
        file: "desired.yaml",
        notes: [],
        apps: 1,
        api_url: "https://cloud-api.phala.com/api/v1",
        poll: { interval: "30s" },
        listen: "[::1]:9000",
        state_dir: "./data",
        warnings: []
      })
    }))
})

describe("server.tls", () => {
  it.effect("resolves certificate paths relative to the config file and rejects unknown keys", () =>
    Effect.gen(function*() {
      const text = `version: 1\napi: { api_key: k }\nserver:\n  tls: { cert_file: certs/tls.crt, key_file: /etc/tls.key }\napps: []\n`
      const config = yield* parseConfig(text, "/etc/phala-drift/desired.yaml", {}, () => Effect.fail("unused"))
      expect(config.server.tls).toEqual({ certFile: "/etc/phala-drift/certs/tls.crt", keyFile: "/etc/tls.key" })
      const bad = yield* Effect.flip(parseConfig(`version: 1\napi: { api_key: k }\nserver:\n  tls: { cert_file: a, key: b }\napps: []\n`, "d.yaml", {}, () => Effect.fail("unused")))
      expect(bad.diagnostics.map((d) => `${d.line}:${d.path}`)).toEqual(expect.arrayContaining(["4:server.tls", "4:server.tls.key"]))
    }))
})
