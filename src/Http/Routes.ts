import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Option, Schema, Stream } from "effect"
import { AlertsView } from "../Runtime/AlertsView.js"
import { ConfigStore } from "../Runtime/ConfigStore.js"
import { CycleTrigger } from "../Runtime/CycleTrigger.js"
import { LatestSnapshot } from "../Runtime/LatestSnapshot.js"
import { bodyBytes, MetricsView } from "../Runtime/MetricsView.js"
import { RemediationView } from "../Runtime/RemediationView.js"
import type { Alert } from "../Core/Domain/Alert.js"
import { summarize } from "../Core/Domain/Report.js"
import { planJson } from "../Core/Plan/PlanJson.js"
import { planText } from "../Core/Plan/PlanText.js"
import { statusPageRoute } from "./StatusPageRoute.js"

const noStore = { "cache-control": "no-store" }

/** Most records `GET /api/v1/actions` returns (the daemon keeps as many in memory). */
const actionsLimit = 200

const notReady = (what: string) =>
  HttpServerResponse.unsafeJson({ error: `${what}: the first reconcile cycle has not finished yet` }, { status: 503, headers: noStore })

const acceptsGzip = (accept: string | undefined): boolean =>
  accept !== undefined && accept.split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";")
    return coding === "gzip" && !params.some((p) => p.trim().replace(/\s/g, "") === "q=0")
  })

const smallBody = 1024 * 1024

/** The cached object state and this scrape's telemetry, written chunk by chunk: no copy of the whole body per scrape. */
const metricsRoute = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const body = yield* (yield* MetricsView).scrape(acceptsGzip(request.headers["accept-encoding"]))
  const vary = { vary: "Accept-Encoding" }
  const headers = body.contentEncoding === null ? vary : { ...vary, "content-encoding": body.contentEncoding }
  // a small body is cheaper sent whole than streamed (a burst of scrapes must not slow the accept loop); a fleet's
  // is written chunk by chunk so that no scrape copies it
  if (body.byteLength <= smallBody) {
    const bytes = yield* Effect.promise(() => bodyBytes(body))
    return HttpServerResponse.uint8Array(bytes, { contentType: body.contentType, headers })
  }
  const stream = Stream.fromAsyncIterable(body.chunks(), (cause) => cause)
  return HttpServerResponse.stream(stream, { contentType: body.contentType, contentLength: body.byteLength, headers })
})

const PlanQuery = Schema.Struct({ format: Schema.optional(Schema.Literal("json", "text")) })

const planRoute = Effect.gen(function*() {
  const query = yield* HttpServerRequest.schemaSearchParams(PlanQuery).pipe(Effect.option)
  if (Option.isNone(query)) {
    return HttpServerResponse.unsafeJson({ error: "format must be json or text" }, { status: 400 })
  }
  const snapshot = yield* (yield* LatestSnapshot).current
  if (Option.isNone(snapshot)) return notReady("plan")
  return query.value.format === "text"
    ? HttpServerResponse.text(planText(snapshot.value, { color: false }), { contentType: "text/plain; charset=utf-8", headers: noStore })
    : HttpServerResponse.unsafeJson(planJson(snapshot.value), { headers: noStore })
})

const readyRoute = Effect.gen(function*() {
  const snapshot = yield* (yield* LatestSnapshot).current
  return Option.isSome(snapshot)
    ? HttpServerResponse.text("ready\n", { headers: noStore })
    : HttpServerResponse.text("not ready: the first reconcile cycle has not finished yet\n", { status: 503, headers: noStore })
})

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

export const alertJson = (alert: Alert) => ({
  fingerprint: alert.fingerprint,
  alertname: alert.name,
  state: alert.state,
  silenced: alert.silenced,
  labels: alert.labels,
  annotations: alert.annotations,
  active_since: iso(alert.activeAt),
  firing_since: iso(alert.firedAt),
  resolved_at: iso(alert.resolvedAt)
})

const alertsRoute = Effect.gen(function*() {
  const view = yield* AlertsView
  const alerts = yield* view.active
  return HttpServerResponse.unsafeJson(
    { enabled: yield* view.enabled, alerts: alerts.filter((a) => a.state !== "resolved").map(alertJson) },
    { headers: noStore }
  )
})

const ActionsQuery = Schema.Struct({
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, actionsLimit)))
})

/** Self-healing records, newest first: decisions (skipped, dry_run) and actions (intent, then ok or failed). */
const actionsRoute = Effect.gen(function*() {
  const query = yield* HttpServerRequest.schemaSearchParams(ActionsQuery).pipe(Effect.option)
  if (Option.isNone(query)) {
    return HttpServerResponse.unsafeJson({ error: `limit must be an integer from 1 to ${actionsLimit}` }, { status: 400 })
  }
  const view = yield* RemediationView
  const config = yield* (yield* ConfigStore).current
  return HttpServerResponse.unsafeJson({
    enabled: yield* view.enabled,
    dry_run: config.remediation?.dryRun ?? false,
    actions: yield* view.recent(query.value.limit ?? 100)
  }, { headers: noStore })
})

/** POST /-/reload and /-/reconcile exist only when `server.lifecycle: true` (as Prometheus' --web.enable-lifecycle). */
const lifecycle = <E, R>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function*() {
    const config = yield* (yield* ConfigStore).current
    if (!config.server.lifecycle) {
      return HttpServerResponse.text("lifecycle endpoints are disabled; set server.lifecycle: true to enable them\n", {
        status: 403
      })
    }
    return yield* handler
  })

/** 400 with the diagnostics (the first 100 and a count) when the file is rejected; never a stack trace. */
const reloadRoute = lifecycle(Effect.gen(function*() {
  const result = yield* (yield* ConfigStore).reload("POST /-/reload")
  switch (result._tag) {
    case "Rejected":
      return HttpServerResponse.unsafeJson(
        { status: "rejected", errors: result.errors, diagnostics: result.diagnostics, error_count: result.errorCount },
        { status: 400, headers: noStore }
      )
    case "Cancelled":
      return HttpServerResponse.unsafeJson({ status: "cancelled", error: "shutting down" }, { status: 503, headers: noStore })
    default:
      return HttpServerResponse.unsafeJson({ status: result._tag === "Reloaded" ? "reloaded" : "unchanged" }, { headers: noStore })
  }
}))

/** Joins the cycle in progress if there is one (its result is everyone's), else runs one. */
const reconcileRoute = lifecycle(Effect.gen(function*() {
  const snapshot = yield* (yield* CycleTrigger).runNow
  return HttpServerResponse.unsafeJson({ status: "done", generated_at: snapshot.generatedAt.toISOString(), summary: summarize(snapshot.apps) })
}).pipe(
  // the runner has logged why, once for all the requests that waited on that cycle
  Effect.catchAllCause(() =>
    Effect.succeed(HttpServerResponse.unsafeJson({ status: "failed", error: "the reconcile cycle did not finish; see the log" }, { status: 500 }))
  )
))

export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/", statusPageRoute),
  HttpRouter.get("/healthz", HttpServerResponse.text("ok\n", { headers: noStore })),
  HttpRouter.get("/readyz", readyRoute),
  HttpRouter.get("/metrics", metricsRoute),
  HttpRouter.get("/api/v1/plan", planRoute),
  HttpRouter.get("/api/v1/alerts", alertsRoute),
  HttpRouter.get("/api/v1/actions", actionsRoute),
  HttpRouter.post("/-/reload", reloadRoute),
  HttpRouter.post("/-/reconcile", reconcileRoute)
)
