import { Context, type Effect } from "effect"

/** The exposition as rendered at the end of the last cycle (or config reload); scrapes serve it without re-rendering. */
export interface Exposition {
  readonly text: string
  readonly gzip: Uint8Array
  readonly contentType: string
}

/** Read side of the metrics for `GET /metrics`. */
export class MetricsView extends Context.Tag("phala-drift/MetricsView")<MetricsView, {
  readonly exposition: Effect.Effect<Exposition>
}>() {}
