import { Either } from "effect"
import type { FetchFailureReason } from "../Core/Domain/Observation.js"

export const maxMessageLength = 200

/** DESIGN §4; 408 is the server timing out on us, so it reads as a timeout rather than a client error. */
export const reasonOfStatus = (status: number): FetchFailureReason => {
  if (status === 401) return "auth"
  if (status === 403) return "forbidden"
  if (status === 408) return "timeout"
  if (status === 429) return "rate_limited"
  if (status >= 500) return "server"
  return "client"
}

/** `fetch failed (connect ECONNREFUSED 127.0.0.1:8787)`: undici hides the useful part in `cause`. */
export const describeCause = (cause: unknown): string => {
  if (!(cause instanceof Error)) return String(cause)
  const inner = cause.cause instanceof Error ? cause.cause.message : null
  return inner === null || inner === cause.message ? cause.message : `${cause.message} (${inner})`
}

/** The `code` label of an attempt: its HTTP status, or `timeout` / `network` when no response came. */
export const attemptCode = (outcome: Either.Either<{ readonly status: number }, { readonly _tag: string }>): string =>
  Either.match(outcome, {
    onRight: (response) => String(response.status),
    onLeft: (error) => (error._tag === "TimeoutException" ? "timeout" : "network")
  })
