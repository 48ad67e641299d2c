import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { DaemonState } from "../Daemon/DaemonState.js"
import { Metrics } from "../Metrics/Metrics.js"
import { planJson } from "../Plan/PlanJson.js"
import { planText } from "../Plan/PlanText.js"

const noStore = { "cache-control": "no-store" }

const notReady = (what: string) =>
  HttpServerResponse.unsafeJson({ error: `${what}: the first reconcile cycle has not finished yet` }, { status: 503, headers: noStore })

const acceptsGzip = (accept: string | undefined): boolean =>
  accept !== undefined && accept.split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";")
    return coding === "gzip" && !params.some((p) => p.trim().replace(/\s/g, "") === "q=0")
  })

const metricsRoute = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const exposition = yield* (yield* Metrics).exposition
  return acceptsGzip(request.headers["accept-encoding"])
    ? HttpServerResponse.uint8Array(exposition.gzip, {
      contentType: exposition.contentType,
      headers: { "content-encoding": "gzip", vary: "Accept-Encoding" }
    })
    : HttpServerResponse.text(exposition.text, { contentType: exposition.contentType, headers: { vary: "Accept-Encoding" } })
})

const PlanQuery = Schema.Struct({ format: Schema.optional(Schema.Literal("json", "text")) })

const planRoute = Effect.gen(function*() {
  const query = yield* HttpServerRequest.schemaSearchParams(PlanQuery).pipe(Effect.option)
  if (Option.isNone(query)) {
    return HttpServerResponse.unsafeJson({ error: "format must be json or text" }, { status: 400 })
  }
  const snapshot = yield* (yield* DaemonState).current
  if (Option.isNone(snapshot)) return notReady("plan")
  return query.value.format === "text"
    ? HttpServerResponse.text(planText(snapshot.value, { color: false }), { headers: noStore })
    : HttpServerResponse.unsafeJson(planJson(snapshot.value), { headers: noStore })
})

const readyRoute = Effect.gen(function*() {
  const snapshot = yield* (yield* DaemonState).current
  return Option.isSome(snapshot)
    ? HttpServerResponse.text("ready\n", { headers: noStore })
    : HttpServerResponse.text("not ready: the first reconcile cycle has not finished yet\n", { status: 503, headers: noStore })
})

export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/healthz", HttpServerResponse.text("ok\n", { headers: noStore })),
  HttpRouter.get("/readyz", readyRoute),
  HttpRouter.get("/metrics", metricsRoute),
  HttpRouter.get("/api/v1/plan", planRoute)
)
