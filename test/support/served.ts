import { Effect } from "effect"
import { gunzipSync } from "node:zlib"
import type { Metrics } from "../../src/Metrics/Metrics.js"

/** The text one plain scrape of `GET /metrics` serves, chunks as the route writes them. */
export const servedText = (metrics: Metrics) =>
  Effect.map(metrics.scrape(false), (body) => Buffer.concat(body.chunks).toString("utf8"))

/** The body one gzip scrape serves, decoded as a client would. */
export const servedGzipText = (metrics: Metrics) =>
  Effect.map(metrics.scrape(true), (body) => gunzipSync(Buffer.concat(body.chunks)).toString("utf8"))
