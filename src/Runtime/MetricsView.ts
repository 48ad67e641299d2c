import { Context, type Effect } from "effect"

/** The body of one `GET /metrics` as chunks written one after another (never concatenated into one buffer). */
export interface ScrapeBody {
  readonly chunks: ReadonlyArray<Uint8Array>
  readonly byteLength: number
  readonly contentEncoding: "gzip" | null
  readonly contentType: string
}

/** Read side of the metrics for `GET /metrics`: the body of one scrape, gzip-encoded or not. */
export class MetricsView extends Context.Tag("phala-drift/MetricsView")<MetricsView, {
  readonly scrape: (gzip: boolean) => Effect.Effect<ScrapeBody>
}>() {}
