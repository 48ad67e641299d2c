import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel, Redacted } from "effect"
import type { ActionRecord } from "../../src/Core/Domain/ActionRecord.js"
import type { DaemonConfig } from "../../src/Core/Domain/App.js"
import { renderStatusPage } from "../../src/Http/StatusPage.js"
import { type ServedRoutes, serveRoutes } from "../support/http-routes.js"

const withRoutes = <A>(server: Partial<DaemonConfig["server"]>, use: (served: ServedRoutes) => Effect.Effect<A, unknown>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(serveRoutes(server), use)).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Warning))))

const get = (url: string, headers: Record<string, string> = {}) => Effect.promise(() => fetch(url, { headers }))

const record = (overrides: Partial<ActionRecord> = {}): ActionRecord => ({
  id: "a1",
  at: "2026-12-01T03:00:00.000Z",
  app_id: "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4",
  app_name: "payments-api",
  vm_uuid: "c48d9363-21b2-4f4a-87d9-3496623f020d",
  cvm_name: "payments-api-replica-0",
  action: "start",
  from: "stopped",
  to: "running",
  result: "ok",
  reason: null,
  detail: "accepted, now starting",
  attempt: 1,
  incident_since: "2026-12-01T02:58:00.000Z",
  ...overrides
})

describe("GET /api/v1/actions", () => {
  it("answers JSON, rejects a bad limit, and sits behind server.auth like the other APIs", () =>
    withRoutes({ auth: { _tag: "Bearer", token: Redacted.make("drift-token") } }, ({ base }) =>
      Effect.gen(function*() {
        expect((yield* get(`${base}/api/v1/actions`)).status).toBe(401)
        const auth = { authorization: "Bearer drift-token" }
        const ok = yield* get(`${base}/api/v1/actions`, auth)
        expect(ok.status).toBe(200)
        expect(ok.headers.get("cache-control")).toBe("no-store")
        expect(yield* Effect.promise(() => ok.json())).toEqual({ enabled: false, dry_run: false, actions: [] })
        expect((yield* get(`${base}/api/v1/actions?limit=0`, auth)).status).toBe(400)
        expect((yield* get(`${base}/api/v1/actions?limit=abc`, auth)).status).toBe(400)
        expect((yield* get(`${base}/api/v1/actions?limit=201`, auth)).status).toBe(400)
      })))
})

describe("status page: Self-healing", () => {
  const base = { snapshot: null, alerts: [], alertingEnabled: false, now: new Date("2026-12-01T03:01:00Z"), refreshSeconds: 10, version: "t" }

  it("lists recent records with time and result, newest first as given", () => {
    const page = renderStatusPage({
      ...base,
      remediation: {
        enabled: true,
        dryRun: false,
        recent: [record(), record({ id: "a2", result: "skipped", reason: "cooldown", detail: "last action 5s ago", cvm_name: "<b>x</b>" })]
      }
    })
    expect(page).toContain("Self-healing is on.")
    expect(page).toContain("payments-api-replica-0")
    expect(page).toContain("1 min ago")
    expect(page).toMatch(/tone-ok[^>]*>[^<]*ok/)
    expect(page).toContain("<code>cooldown</code>")
    expect(page).not.toContain("<b>x</b>")
  })

  it("says dry run, and shows nothing when off with no records", () => {
    expect(renderStatusPage({ ...base, remediation: { enabled: true, dryRun: true, recent: [] } })).toContain("dry run: nothing is called")
    expect(renderStatusPage({ ...base, remediation: { enabled: false, dryRun: false, recent: [] } })).not.toContain("Self-healing")
  })
})
