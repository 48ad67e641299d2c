import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Clock, Duration, Effect, Option, ParseResult, Schema } from "effect"
import { AlertsView } from "../Runtime/AlertsView.js"
import { ConfigStore } from "../Runtime/ConfigStore.js"
import { LatestSnapshot } from "../Runtime/LatestSnapshot.js"
import { RemediationView } from "../Runtime/RemediationView.js"
import type { PollSchedule } from "../Core/Domain/App.js"
import { version } from "../Support/Version.js"
import { actionsOnPage, type AppFilter, refreshScriptHash, renderStatusPageBytes } from "./StatusPage.js"

// the page runs one script (its in-place refresh, by hash), fetches only itself and submits its filter form to itself
export const statusPageHeaders = {
  "cache-control": "no-store",
  "content-security-policy":
    `default-src 'none'; script-src '${refreshScriptHash}'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer"
} as const

const MIN_REFRESH = 5
const MAX_REFRESH = 60
// a cron schedule has no single period to follow; half a minute keeps the page fresh without hammering the daemon
const CRON_REFRESH = 30

/** How often the page reloads itself: the poll interval, clamped to 5..60 seconds. */
export const refreshSecondsFor = (poll: PollSchedule): number => {
  if (poll._tag === "Cron") return CRON_REFRESH
  const seconds = Math.ceil(Duration.toMillis(poll.interval) / 1000)
  return Number.isFinite(seconds) ? Math.min(MAX_REFRESH, Math.max(MIN_REFRESH, seconds)) : MAX_REFRESH
}

/** Data older than three polls (at least three reloads) is shown as stale; a cron schedule has no fixed period. */
export const staleAfterSecondsFor = (poll: PollSchedule): number | null => {
  if (poll._tag === "Cron") return null
  const seconds = Duration.toMillis(poll.interval) / 1000
  return Number.isFinite(seconds) ? Math.max(3 * refreshSecondsFor(poll), 3 * seconds) : null
}

// an empty field is what the form sends for "any"; it filters nothing
const optionalText = (max: number) =>
  Schema.optional(Schema.transform(Schema.String.pipe(Schema.maxLength(max)), Schema.NullOr(Schema.String), {
    strict: true,
    decode: (s) => (s.trim() === "" ? null : s.trim()),
    encode: (s) => s ?? ""
  }))

/** The query of `GET /`: the page of apps and the filters of the form. */
export const StatusPageQuery = Schema.Struct({
  page: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1_000_000))),
  q: optionalText(200),
  sync: Schema.optional(Schema.Literal("", "problems", "in_sync", "out_of_sync", "unknown")),
  label: optionalText(300),
  app: optionalText(100)
})

export const filterOf = (query: typeof StatusPageQuery.Type): AppFilter => ({
  q: query.q ?? null,
  sync: query.sync === undefined || query.sync === "" ? null : query.sync,
  label: query.label ?? null,
  // the dashboard and `phala cvms get` write ids as app_<id>; inside they are lower-case hex without the prefix
  app: query.app === undefined || query.app === null ? null : query.app.replace(/^app_/i, "").toLowerCase()
})

const badQuery = (error: ParseResult.ParseError) =>
  HttpServerResponse.text(
    `bad query: ${ParseResult.TreeFormatter.formatErrorSync(error)}\n(page is a number from 1; sync is problems, in_sync, out_of_sync or unknown)\n`,
    { status: 400, contentType: "text/plain; charset=utf-8", headers: { "cache-control": "no-store" } }
  )

/** `GET /`: the human status page, rendered from the last published snapshot, filtered and paged by the query. */
export const statusPageRoute: Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  LatestSnapshot | AlertsView | ConfigStore | HttpServerRequest.ParsedSearchParams
> = Effect.gen(function*() {
    const query = yield* HttpServerRequest.schemaSearchParams(StatusPageQuery).pipe(Effect.either)
    if (query._tag === "Left") return badQuery(query.left)
    const timeline = Option.getOrNull(yield* (yield* LatestSnapshot).timeline)
    const alertsView = yield* AlertsView
    const alertingEnabled = yield* alertsView.enabled
    const alerts = alertingEnabled ? yield* alertsView.active : []
    const stateDir = alertingEnabled ? yield* alertsView.stateDir : null
    const config = yield* (yield* ConfigStore).current
    const now = new Date(yield* Clock.currentTimeMillis)
    // optional: a page served without self-healing (tests of the page alone) shows no such section
    const remediationView = yield* Effect.serviceOption(RemediationView)
    const body = renderStatusPageBytes({
      remediation: Option.isNone(remediationView) ? null : {
        enabled: yield* remediationView.value.enabled,
        dryRun: config.remediation?.dryRun ?? false,
        recent: yield* remediationView.value.recent(actionsOnPage)
      },
      snapshot: timeline?.snapshot ?? null,
      moments: timeline?.moments ?? null,
      page: query.right.page ?? 1,
      filter: filterOf(query.right),
      alerts,
      alertingEnabled,
      now,
      refreshSeconds: refreshSecondsFor(config.poll),
      staleAfterSeconds: staleAfterSecondsFor(config.poll),
      stateDir,
      version
    })
    return HttpServerResponse.uint8Array(body, { contentType: "text/html; charset=utf-8", headers: statusPageHeaders })
  })
