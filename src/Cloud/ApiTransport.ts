import { Cause, Clock, Duration, Effect } from "effect"
import { type BoundedBody, readResponseBounded } from "./BoundedBody.js"

/** One answer of the API: its status, headers and the body read within its bound. */
export interface ApiAnswer {
  readonly url: string
  readonly status: number
  readonly headers: Headers
  readonly body: BoundedBody
}

/** No answer: the request failed (`RequestError`), or the body could not be read whole (`ResponseError`). */
export interface TransportFailure {
  readonly _tag: "RequestError" | "ResponseError"
  readonly cause: unknown
}

export type ApiGet = (
  url: string,
  bodyLimit: (status: number) => number
) => Effect.Effect<ApiAnswer, TransportFailure | Cause.TimeoutException>

const liveClockClass = Clock.make().constructor

/** Whether `clock` is the real one (not a test clock): only then may a timeout be a plain timer. */
export const isLiveClock = (clock: Clock.Clock): boolean => clock.constructor === liveClockClass

/**
 * A GET as one promise chain under one `Effect.async`: `fetch` (redirects handed back to the caller, never followed),
 * then the body within the limit its status allows. With a `timeout`, one timer covers both and aborts the request
 * when it fires; interrupting the effect (shutdown, or a caller's own timeout) aborts it too, whatever stage it is
 * at. Every request of a cycle goes through here, so it spends nothing per call that the answer does not need.
 */
export const makeApiGet = (
  fetchFn: typeof globalThis.fetch,
  headers: Readonly<Record<string, string>>,
  timeout: Duration.Duration | null
): ApiGet =>
(url, bodyLimit) =>
  Effect.async<ApiAnswer, TransportFailure | Cause.TimeoutException>((resume) => {
    const controller = new AbortController()
    let answered = false
    let done = false
    const finish = (result: Effect.Effect<ApiAnswer, TransportFailure | Cause.TimeoutException>) => {
      if (done) return
      done = true
      if (timer !== undefined) clearTimeout(timer)
      resume(result)
    }
    const timer = timeout === null ? undefined : setTimeout(() => {
      finish(Effect.fail(new Cause.TimeoutException()))
      controller.abort()
    }, Duration.toMillis(timeout))
    fetchFn(url, { headers, redirect: "manual", signal: controller.signal }).then(
      (response) => {
        answered = true
        return readResponseBounded(response, bodyLimit(response.status)).then((body): ApiAnswer => {
          if (body._tag === "TooLarge") controller.abort()
          return { url, status: response.status, headers: response.headers, body }
        })
      }
    ).then(
      (answer) => finish(Effect.succeed(answer)),
      (cause: unknown) => finish(Effect.fail({ _tag: answered ? "ResponseError" : "RequestError", cause }))
    )
    return Effect.sync(() => {
      done = true
      if (timer !== undefined) clearTimeout(timer)
      controller.abort()
    })
  })
