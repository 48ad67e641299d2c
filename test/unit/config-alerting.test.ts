import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Redacted } from "effect"
import * as Path from "node:path"
import type { ReadSecretFile } from "../../src/Config/Build.js"
import { formatDiagnostic, formatDiagnostics, invalidReport } from "../../src/Config/Diagnostics.js"
import { loadConfig, parseConfig } from "../../src/Config/Load.js"

const fixtures = Path.resolve(import.meta.dirname, "../fixtures/config")
const KEY = "phak_live_SUPERSECRET_9f8e7d"
const APP = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const env = { PHALA_CLOUD_API_KEY: KEY }
const noFiles: ReadSecretFile = () => Effect.fail("NotFound")
const load = (text: string, e: Record<string, string | undefined> = env, read: ReadSecretFile = noFiles) =>
  parseConfig(text, "desired.yaml", e, read)
const errorsOf = (text: string, e: Record<string, string | undefined> = env, read: ReadSecretFile = noFiles) =>
  Effect.flip(load(text, e, read)).pipe(Effect.map((error) => error.diagnostics.map(formatDiagnostic)))

/** `version: 1`, then the alerting block (line 2 on), then one app. */
const withAlerting = (block: string) => `version: 1\nalerting:\n${block}apps:\n  - app_id: ${APP}\n`
const appWith = (lines: string) => `version: 1\napps:\n  - app_id: ${APP}\n${lines}`

describe("alerting: valid", () => {
  it.effect("decodes the DESIGN §9 example with defaults and interpolated secrets", () =>
    Effect.gen(function*() {
      const config = yield* load(
        withAlerting(`  external_url: http://phala-drift.example:9477/
  receivers:
    - { name: am, type: alertmanager, urls: [http://127.0.0.1:9093, "http://am-2:9093/"], timeout: 5s }
    - { name: ops, type: webhook, url: "https://hooks.example.com/phala", bearer_token: "\${HOOK_TOKEN}", hmac_secret: "\${HOOK_SECRET}" }
    - { name: chat, type: slack, webhook_url: "\${SLACK_WEBHOOK_URL}" }
  default_receivers: [am]
  routes:
    - { match: { severity: critical, tier: 042 }, receivers: [am, chat] }
`),
        { ...env, HOOK_TOKEN: "tok-123", HOOK_SECRET: "12345", SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/X" }
      )
      const alerting = config.alerting
      expect(alerting?.resendInterval).toEqual(Duration.minutes(1))
      expect(alerting?.externalUrl).toBe("http://phala-drift.example:9477")
      expect(alerting?.defaultReceivers).toEqual(["am"])
      expect(alerting?.routes).toEqual([{ match: { severity: "critical", tier: "042" }, receivers: ["am", "chat"] }])
      const [am, ops, chat] = alerting?.receivers ?? []
      expect(am).toEqual({ _tag: "Alertmanager", name: "am", urls: ["http://127.0.0.1:9093", "http://am-2:9093"], timeout: Duration.seconds(5) })
      expect(ops?._tag).toBe("Webhook")
      if (ops?._tag === "Webhook") {
        expect(Redacted.value(ops.url)).toBe("https://hooks.example.com/phala")
        expect(ops.bearerToken && Redacted.value(ops.bearerToken)).toBe("tok-123")
        expect(ops.hmacSecret && Redacted.value(ops.hmacSecret)).toBe("12345")
        expect(ops.timeout).toEqual(Duration.seconds(10))
      }
      expect(chat?._tag === "Slack" && Redacted.value(chat.webhookUrl)).toBe("https://hooks.slack.com/services/T/B/X")
    }))

  it.effect("no alerting block → null; an empty one → no receivers", () =>
    Effect.gen(function*() {
      expect((yield* load(appWith(""))).alerting).toBeNull()
      const empty = yield* load(withAlerting("  resend_interval: 2m\n"))
      expect(empty.alerting).toEqual({
        resendInterval: Duration.minutes(2),
        receivers: [],
        defaultReceivers: [],
        routes: [],
        externalUrl: null
      })
    }))

  it.effect("secret files are relative to the config file", () =>
    Effect.gen(function*() {
      const config = yield* loadConfig(Path.join(fixtures, "alerting/desired.yaml"), {})
      const ops = config.alerting?.receivers[1]
      expect(ops?._tag).toBe("Webhook")
      if (ops?._tag === "Webhook") {
        expect(Redacted.value(ops.url)).toBe("https://hooks.example.com/from-file/SECRETPATH")
        expect(ops.bearerToken && Redacted.value(ops.bearerToken)).toBe("file-bearer-token-123")
        expect(ops.hmacSecret).toBeNull()
      }
      expect(config.alerting?.resendInterval).toEqual(Duration.seconds(30))
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("maintenance windows: Z and offsets, as strings or as YAML 1.1 timestamps", () =>
    Effect.gen(function*() {
      const config = yield* load(appWith(
        "    maintenance:\n      - { start: 2026-12-01T02:00:00Z, end: 2026-12-01T06:00:00+02:00 }\n      - start: \"2026-12-02T00:00:00.5Z\"\n        end: 2026-12-02T01:00:00-0130\n"
      ))
      expect(config.apps[0]?.maintenance).toEqual([
        { start: new Date("2026-12-01T02:00:00Z"), end: new Date("2026-12-01T04:00:00Z") },
        { start: new Date("2026-12-02T00:00:00.500Z"), end: new Date("2026-12-02T02:30:00Z") }
      ])
      const yaml11 = yield* load(`%YAML 1.1\n---\n${appWith("    maintenance: [{ start: 2026-12-01T02:00:00Z, end: 2026-12-01T04:00:00Z }]\n")}`)
      expect(yaml11.apps[0]?.maintenance).toEqual([{ start: new Date("2026-12-01T02:00:00Z"), end: new Date("2026-12-01T04:00:00Z") }])
    }))
})

describe("alerting: diagnostics", () => {
  const cases: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
    ["resend_interval and external_url", withAlerting("  resend_interval: 500ms\n  external_url: ftp://x\n"), [
      `desired.yaml:3:20: alerting.resend_interval: must be at least 1s, got "500ms"`,
      `desired.yaml:4:17: alerting.external_url: "ftp://x" is not an http(s) URL`
    ]],
    ["unknown alerting key", withAlerting("  resend_intreval: 1m\n"), [
      `desired.yaml:3:3: alerting.resend_intreval: unknown key "resend_intreval", did you mean "resend_interval"?`
    ]],
    [
      "receiver type, keys of another type, did-you-mean per type",
      withAlerting(
        "  receivers:\n    - { name: am, type: alertmanager, urls: [], timout: 1s }\n    - { name: s, type: slack, webhook_url: https://h.example/x, url: https://y }\n    - { name: x, type: webhok }\n    - { type: slack, webhook_url: https://h.example/x }\n  default_receivers: [am]\n"
      ),
      [
        "desired.yaml:4:45: alerting.receivers[0].urls: must not be empty",
        `desired.yaml:4:49: alerting.receivers[0].timout: unknown key "timout" for a receiver of type alertmanager, did you mean "timeout"?`,
        `desired.yaml:5:65: alerting.receivers[1].url: unknown key "url" for a receiver of type slack`,
        `desired.yaml:6:24: alerting.receivers[2].type: must be one of alertmanager, webhook, slack, got "webhok"`,
        `desired.yaml:7:7: alerting.receivers[3]: missing required key "name"`
      ]
    ],
    ["missing type", withAlerting("  receivers:\n    - { name: am, urls: [http://a:9093] }\n  default_receivers: [am]\n"), [
      `desired.yaml:4:7: alerting.receivers[0]: missing required key "type"`
    ]],
    [
      "names: format, uniqueness",
      withAlerting(
        "  receivers:\n    - { name: am, type: alertmanager, urls: [http://a:9093] }\n    - { name: am, type: alertmanager, urls: [http://b:9093] }\n    - { name: \"a b\", type: alertmanager, urls: [http://b:9093] }\n  default_receivers: [am]\n"
      ),
      [
        `desired.yaml:5:15: alerting.receivers[1].name: duplicate receiver name "am" (first declared at alerting.receivers[0], line 4)`,
        `desired.yaml:6:15: alerting.receivers[2].name: must be a receiver name of letters, digits, _ and -, got "a b"`
      ]
    ],
    [
      "references to unknown receivers, at the list item",
      withAlerting(
        "  receivers:\n    - { name: am, type: alertmanager, urls: [http://a:9093] }\n  default_receivers: [am, pager]\n  routes:\n    - { match: { severity: critical }, receivers: [chat] }\n    - { match: { \"a-b\": x }, receivers: [] }\n"
      ),
      [
        `desired.yaml:5:27: alerting.default_receivers[1]: no receiver named "pager" (receivers: am)`,
        `desired.yaml:7:52: alerting.routes[0].receivers[0]: no receiver named "chat" (receivers: am)`,
        `desired.yaml:8:18: alerting.routes[1].match.a-b: invalid label name "a-b"`,
        "desired.yaml:8:41: alerting.routes[1].receivers: must not be empty"
      ]
    ],
    ["default_receivers required with receivers", withAlerting("  receivers:\n    - { name: am, type: alertmanager, urls: [http://a:9093] }\n"), [
      "desired.yaml:3:3: alerting: default_receivers must name at least one receiver (alerts that match no route go there)"
    ]],
    ["default_receivers empty", withAlerting("  receivers:\n    - { name: am, type: alertmanager, urls: [http://a:9093] }\n  default_receivers: []\n"), [
      "desired.yaml:5:22: alerting.default_receivers: default_receivers must name at least one receiver (alerts that match no route go there)"
    ]],
    [
      "webhook and slack need exactly one url source; token sources are exclusive",
      withAlerting(
        "  receivers:\n    - { name: w, type: webhook, bearer_token: a, bearer_token_file: b }\n    - { name: s, type: slack, webhook_url: https://h.example/x, webhook_url_file: f }\n  default_receivers: [w]\n"
      ),
      [
        "desired.yaml:4:7: alerting.receivers[0]: set one of url, url_file",
        "desired.yaml:5:7: alerting.receivers[1]: set only one of webhook_url, webhook_url_file"
      ]
    ],
    [
      "timeout must be positive",
      withAlerting("  receivers:\n    - { name: am, type: alertmanager, urls: [http://a:9093], timeout: 0 }\n  default_receivers: [am]\n"),
      [`desired.yaml:4:71: alerting.receivers[0].timeout: must be longer than 0s, got 0`]
    ],
    [
      "maintenance windows",
      appWith(
        "    maintenance:\n      - { start: 2026-12-01T02:00:00Z, end: 2026-12-01T01:00:00Z }\n      - { start: 2026-12-01T02:00:00, end: 2026-02-30T01:00:00Z, stop: x }\n      - { start: 12 }\n"
      ),
      [
        "desired.yaml:5:9: apps[0].maintenance[0]: end must be after start",
        `desired.yaml:6:18: apps[0].maintenance[1].start: invalid timestamp "2026-12-01T02:00:00" (use ISO-8601 with an offset, e.g. 2026-12-01T02:00:00Z or 2026-12-01T04:00:00+02:00)`,
        `desired.yaml:6:44: apps[0].maintenance[1].end: invalid timestamp "2026-02-30T01:00:00Z" (use ISO-8601 with an offset, e.g. 2026-12-01T02:00:00Z or 2026-12-01T04:00:00+02:00)`,
        `desired.yaml:6:66: apps[0].maintenance[1].stop: unknown key "stop"`,
        `desired.yaml:7:9: apps[0].maintenance[2]: missing required key "end"`,
        "desired.yaml:7:18: apps[0].maintenance[2].start: must be a timestamp (use ISO-8601 with an offset, e.g. 2026-12-01T02:00:00Z or 2026-12-01T04:00:00+02:00), got 12"
      ]
    ],
    ["maintenance is per app, not in defaults", `version: 1\ndefaults:\n  maintenance: []\napps: []\n`, [
      `desired.yaml:3:3: defaults.maintenance: unknown key "maintenance"`
    ]]
  ]
  it.effect.each(cases)("%s", ([, text, expected]) =>
    Effect.gen(function*() {
      expect(yield* errorsOf(text)).toEqual(expected)
    }))

  it.effect("an unreadable or non-URL secret file is reported at its key", () =>
    Effect.gen(function*() {
      const text = withAlerting(
        "  receivers:\n    - { name: w, type: webhook, url_file: hook, hmac_secret_file: hmac }\n    - { name: s, type: slack, webhook_url_file: slack }\n  default_receivers: [w]\n"
      )
      const read: ReadSecretFile = (path) =>
        path.endsWith("hook") ? Effect.succeed("not a url SECRETVALUE\n") : path.endsWith("slack") ? Effect.succeed("https://ok.example/x") : Effect.fail("NotFound")
      const errors = yield* errorsOf(text, env, read)
      expect(errors).toEqual([
        `desired.yaml:4:43: alerting.receivers[0].url_file: cannot use secret file "hook": the file does not hold an http(s) URL`,
        `desired.yaml:4:67: alerting.receivers[0].hmac_secret_file: cannot use secret file "hmac": NotFound`
      ])
      expect(errors.join("\n")).not.toContain("SECRETVALUE")
    }))
})

describe("alerting: secrets never appear in diagnostics", () => {
  const HOOK = "https://hooks.example.com/T000/B000/XXXXsecretXXXX"
  const TOKEN = "hook-token-SECRET-42"
  const texts = [
    withAlerting(`  receivers:\n    - { name: w, type: webhook, url: "${HOOK}", bearer_token: ${TOKEN}, bearer_tokn: ${TOKEN} }\n  default_receivers: [w]\n`),
    withAlerting(`  receivers:\n    - { name: w, type: webhook, url: "${HOOK}", hmac_secret: ${TOKEN}, timeout: ${TOKEN} }\n  default_receivers: [nope]\n`),
    withAlerting(`  receivers:\n    - { name: s, type: slack, webhook_url: "ftp${HOOK.slice(5)}" }\n  default_receivers: [s]\n`),
    withAlerting(`  receivers:\n    - { name: s, type: slack, webhook_url: [${HOOK}], url: ${HOOK} }\n  default_receivers: [s]\n`),
    withAlerting(`  receivers:\n    - { name: w, type: webhook, url: "\${HOOK}", bearer_token: "\${TOKEN}", retries: "\${TOKEN}" }\n  default_receivers: [w]\n`)
  ]
  it.effect.each(texts.map((text, i) => [i, text] as const))("case %i", ([, text]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load(text, { ...env, HOOK, TOKEN }))
      expect(error.diagnostics.length).toBeGreaterThan(0)
      const outputs = [String(error), error.message, formatDiagnostics(error.diagnostics), JSON.stringify(invalidReport(error))]
      for (const out of outputs) {
        expect(out).not.toContain(TOKEN)
        expect(out).not.toContain("XXXXsecretXXXX")
      }
    }))

  it.effect("decoded receiver secrets are Redacted", () =>
    Effect.gen(function*() {
      const config = yield* load(
        withAlerting(`  receivers:\n    - { name: w, type: webhook, url: "${HOOK}", bearer_token: ${TOKEN} }\n  default_receivers: [w]\n`)
      )
      const shown = `${String(config.alerting?.receivers[0] && Object.values(config.alerting.receivers[0]))} ${JSON.stringify(config.alerting)}`
      expect(shown).not.toContain(TOKEN)
      expect(shown).not.toContain("XXXXsecretXXXX")
    }))
})
