import { Effect } from "effect"
import { gunzipSync } from "node:zlib"
import type { Metrics } from "../../src/Metrics/Metrics.js"
import { bodyBytes } from "../../src/Runtime/MetricsView.js"

/** The text one plain scrape of `GET /metrics` serves, chunks as the route writes them. */
export const servedText = (metrics: Metrics) =>
  Effect.flatMap(metrics.scrape(false), (body) => Effect.promise(() => bodyBytes(body))).pipe(Effect.map((bytes) => bytes.toString("utf8")))

/** The body one gzip scrape serves, decoded as a client would. */
export const servedGzipText = (metrics: Metrics) =>
  Effect.flatMap(metrics.scrape(true), (body) => Effect.promise(() => bodyBytes(body))).pipe(Effect.map((bytes) => gunzipSync(bytes).toString("utf8")))
