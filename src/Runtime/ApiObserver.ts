import { Context, Effect, Layer } from "effect"

/** One HTTP attempt against the Phala API: `code` is the status code, or `timeout` / `network`. */
export interface ApiAttempt {
  readonly code: string
  readonly seconds: number
}

/** Hook through which the client reports every attempt (metrics subscribe to it; tests and `plan` use the no-op). */
export class ApiObserver extends Context.Tag("phala-drift/ApiObserver")<ApiObserver, {
  readonly onAttempt: (attempt: ApiAttempt) => Effect.Effect<void>
}>() {
  static readonly Noop = Layer.succeed(ApiObserver, { onAttempt: () => Effect.void })
}
