import { HttpServerResponse } from "@effect/platform"
import { Clock, Duration, Effect, Option } from "effect"
import { AlertsView } from "../Runtime/AlertsView.js"
import { ConfigStore } from "../Runtime/ConfigStore.js"
import { LatestSnapshot } from "../Runtime/LatestSnapshot.js"
import type { PollSchedule } from "../Core/Domain/App.js"
import { version } from "../Support/Version.js"
import { renderStatusPage } from "./StatusPage.js"

export const statusPageHeaders = {
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
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

/** `GET /`: the human status page, rendered from the last published snapshot. */
export const statusPageRoute: Effect.Effect<HttpServerResponse.HttpServerResponse, never, LatestSnapshot | AlertsView | ConfigStore> =
  Effect.gen(function*() {
    const snapshot = yield* (yield* LatestSnapshot).current
    const alertsView = yield* AlertsView
    const alertingEnabled = yield* alertsView.enabled
    const alerts = alertingEnabled ? yield* alertsView.active : []
    const stateDir = alertingEnabled ? yield* alertsView.stateDir : null
    const config = yield* (yield* ConfigStore).current
    const now = new Date(yield* Clock.currentTimeMillis)
    const body = renderStatusPage({
      snapshot: Option.getOrNull(snapshot),
      alerts,
      alertingEnabled,
      now,
      refreshSeconds: refreshSecondsFor(config.poll),
      staleAfterSeconds: staleAfterSecondsFor(config.poll),
      stateDir,
      version
    })
    return HttpServerResponse.text(body, { contentType: "text/html; charset=utf-8", headers: statusPageHeaders })
  })
