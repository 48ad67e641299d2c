import { Context, type Effect } from "effect"

/** The body of one `GET /metrics` as chunks written one after another (never concatenated into one buffer). */
export interface ScrapeBody {
  /** The body in order, for one reader: cached bytes, and in the plain form the object state inflated as it is read. */
  readonly chunks: () => AsyncIterable<Uint8Array>
  readonly byteLength: number
  readonly contentEncoding: "gzip" | null
  readonly contentType: string
}

/** Read side of the metrics for `GET /metrics`: the body of one scrape, gzip-encoded or not. */
export class MetricsView extends Context.Tag("phala-drift/MetricsView")<MetricsView, {
  readonly scrape: (gzip: boolean) => Effect.Effect<ScrapeBody>
}>() {}

/** The whole body in one buffer (small bodies, tests). */
export const bodyBytes = async (body: ScrapeBody): Promise<Buffer> => {
  const chunks: Array<Uint8Array> = []
  for await (const chunk of body.chunks()) chunks.push(chunk)
  return Buffer.concat(chunks, body.byteLength)
}
