import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel, Redacted } from "effect"
import type { ReadSecretFile } from "../../src/Config/Build.js"
import { formatDiagnostic } from "../../src/Config/Diagnostics.js"
import { parseConfig } from "../../src/Config/Load.js"
import type { DaemonConfig, PhalaWebhookSettings } from "../../src/Core/Domain/App.js"
import { maxBodyBytes, sign, verify } from "../../src/Core/PhalaWebhook.js"
import { type ServedRoutes, serveRoutes } from "../support/http-routes.js"

const KEY = "phak_live_SUPERSECRET_9f8e7d"
const SECRET = "whsec_unit_test_secret_41d9"
const APP = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const OTHER = "ffffffffffffffffffffffffffffffffffffffff"
const env = { PHALA_CLOUD_API_KEY: KEY, HOOK_SECRET: SECRET }
const files: ReadSecretFile = (path) => (path.endsWith("hook-secret") ? Effect.succeed(`${SECRET}\n`) : Effect.fail("NotFound"))
const load = (server: string) => parseConfig(`version: 1\nserver:\n${server}apps:\n  - app_id: ${APP}\n`, "desired.yaml", env, files)
const errorsOf = (server: string) =>
  Effect.flip(load(server)).pipe(Effect.map((error) => error.diagnostics.map(formatDiagnostic)))

describe("server.phala_webhook config", () => {
  it.effect("absent: no webhook; secret inline or from a file", () =>
    Effect.gen(function*() {
      expect((yield* load("  lifecycle: false\n")).server.phalaWebhook).toBeNull()
      const inline = (yield* load("  phala_webhook: { path: /hooks/phala, secret: \"${HOOK_SECRET}\" }\n")).server.phalaWebhook
      expect(inline?.path).toBe("/hooks/phala")
      expect(inline && Redacted.value(inline.secret)).toBe(SECRET)
      const fromFile = (yield* load("  phala_webhook: { path: /hooks/phala, secret_file: hook-secret }\n")).server.phalaWebhook
      expect(fromFile && Redacted.value(fromFile.secret)).toBe(SECRET)
    }))

  it.effect("refuses a bad path, both or neither secret, and never echoes the secret", () =>
    Effect.gen(function*() {
      const errors = [
        ...(yield* errorsOf("  phala_webhook: { path: hooks, secret: abc }\n")),
        ...(yield* errorsOf("  phala_webhook: { path: /metrics, secret: abc }\n")),
        ...(yield* errorsOf(`  phala_webhook: { path: /hooks/phala, secret: ${SECRET}, secret_file: x }\n`)),
        ...(yield* errorsOf("  phala_webhook: { path: /hooks/phala }\n"))
      ]
      expect(errors.join("\n")).not.toContain(SECRET)
      expect(errors).toHaveLength(4)
      expect(errors[0]).toMatch(/^desired\.yaml:3:\d+: server\.phala_webhook\.path: must be a URL path starting with \//)
      expect(errors[1]).toMatch(/server\.phala_webhook\.path: \/metrics is an endpoint of phala-drift already/)
      expect(errors[2]).toMatch(/server\.phala_webhook: set only one of secret, secret_file/)
      expect(errors[3]).toMatch(/server\.phala_webhook: set one of secret, secret_file/)
    }))
})

describe("signature", () => {
  const body = new TextEncoder().encode("{\"id\":\"evt_1\"}")
  const now = 1_767_225_600_000
  const ts = String(now / 1000)
  const check = (overrides: Partial<Parameters<typeof verify>[0]>) =>
    verify({ secret: SECRET, body, timestamp: ts, signature: sign(SECRET, ts, body), nowMs: now, ...overrides })

  it("accepts the right HMAC within 5 minutes either way, refuses the rest", () => {
    expect(check({})).toBe("ok")
    expect(check({ nowMs: now + 299_000 })).toBe("ok")
    expect(check({ nowMs: now - 299_000 })).toBe("ok")
    expect(check({ nowMs: now + 301_000 })).toBe("stale")
    expect(check({ nowMs: now - 301_000 })).toBe("stale")
    expect(check({ secret: "whsec_other" })).toBe("bad_signature")
    expect(check({ body: new TextEncoder().encode("{\"id\":\"evt_2\"}") })).toBe("bad_signature")
    expect(check({ signature: undefined })).toBe("bad_signature")
    expect(check({ timestamp: undefined })).toBe("bad_signature")
    expect(check({ signature: sign(SECRET, ts, body).slice(0, -1) })).toBe("bad_signature")
    expect(check({ timestamp: "1.5e9" })).toBe("bad_signature")
  })
})

const hook: PhalaWebhookSettings = { path: "/hooks/phala", secret: Redacted.make(SECRET) }

const withRoutes = <A>(server: Partial<DaemonConfig["server"]>, use: (served: ServedRoutes) => Effect.Effect<A, unknown>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(serveRoutes(server, undefined, [APP]), use)).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Warning))))

const event = (id: string, appId: string, name = "cvm.stopped") =>
  JSON.stringify({
    id,
    event: name,
    version: "1",
    created_at: "2026-12-01T00:00:00Z",
    workspace: { id: "ws_1", name: "w" },
    data: { cvm_id: "9b1f2c1e-0000-4000-8000-000000000001", cvm_name: "web-1", app_id: appId, status: "stopped" }
  })

const post = (base: string, body: string, options: { secret?: string; ageSeconds?: number; headers?: Record<string, string> } = {}) =>
  Effect.promise(async () => {
    const ts = String(Math.floor(Date.now() / 1000) - (options.ageSeconds ?? 0))
    const response = await fetch(`${base}/hooks/phala`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-webhook-timestamp": ts,
        "x-webhook-signature": sign(options.secret ?? SECRET, ts, body),
        ...options.headers
      },
      body
    })
    return { status: response.status, text: await response.text() }
  })

describe("POST {path}", () => {
  it("does not exist unless configured", () =>
    withRoutes({}, ({ base }) =>
      Effect.gen(function*() {
        expect((yield* post(base, event("evt_1", APP))).status).toBe(404)
      })))

  it("answers each kind of input, asking for a re-read only for a new, verified event about a declared app", () =>
    withRoutes({ phalaWebhook: hook, auth: { _tag: "Bearer", token: Redacted.make("drift-token") } }, ({ base, refreshRequests }) =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [string, Effect.Effect<{ status: number; text: string }>, number]> = [
          ["wrong secret", post(base, event("evt_a", APP), { secret: "whsec_wrong" }), 401],
          ["stale timestamp", post(base, event("evt_b", APP), { ageSeconds: 600 }), 401],
          ["no signature", post(base, event("evt_c", APP), { headers: { "x-webhook-signature": "" } }), 401],
          ["oversized body", post(base, event("evt_d", APP).padEnd(maxBodyBytes + 1, " ")), 413],
          ["not an event", post(base, "{\"hello\":1}"), 400],
          ["not JSON", post(base, "hello"), 400],
          ["an app not declared", post(base, event("evt_e", OTHER)), 202],
          ["accepted (no auth needed)", post(base, event("evt_f", APP)), 202],
          ["replayed", post(base, event("evt_f", APP)), 200],
          ["another event id", post(base, event("evt_g", `app_${APP.toUpperCase()}`, "cvm.started")), 202]
        ]
        const got: Array<readonly [string, number]> = []
        for (const [name, request] of cases) got.push([name, (yield* request).status])
        expect(got).toEqual(cases.map(([name, , status]) => [name, status]))
        expect(yield* refreshRequests).toEqual([APP, APP])
        const other = yield* Effect.promise(() => fetch(`${base}/metrics`))
        expect(other.status).toBe(401)
        const get = yield* Effect.promise(() => fetch(`${base}/hooks/phala`))
        expect(get.status).toBe(405)
      })))
})
