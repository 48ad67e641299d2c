import { Cause, Clock, Duration, Effect } from "effect"
import { type BoundedBody, readResponseBounded } from "./BoundedBody.js"

/** Response headers as the client reads them (`fetch`'s `Headers` is one). */
export interface AnswerHeaders {
  get(name: string): string | null
}

/** One answer of the API: its status, headers and the body read within its bound. */
export interface ApiAnswer {
  readonly url: string
  readonly status: number
  readonly headers: AnswerHeaders
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

/** Starts one GET; calls exactly one of the callbacks, unless aborted first. Returns how to abort it. */
export type Exchange = (
  url: string,
  bodyLimit: (status: number) => number,
  onAnswer: (answer: ApiAnswer) => void,
  onFailure: (failure: TransportFailure) => void
) => () => void

const liveClockClass = Clock.make().constructor

/** Whether `clock` is the real one (not a test clock): only then may a timeout be a plain timer. */
export const isLiveClock = (clock: Clock.Clock): boolean => clock.constructor === liveClockClass

/**
 * One exchange under one `Effect.async`. With a `timeout`, one timer covers the request and its body and aborts it
 * when it fires; interrupting the effect (shutdown, or a caller's own timeout) aborts it too, whatever stage it is
 * at. Every request of a cycle goes through here, so it spends nothing per call that the answer does not need.
 */
export const asApiGet = (exchange: Exchange, timeout: Duration.Duration | null): ApiGet => {
  const ms = timeout === null ? null : Duration.toMillis(timeout)
  return (url, bodyLimit) =>
    Effect.async<ApiAnswer, TransportFailure | Cause.TimeoutException>((resume) => {
      let done = false
      let timer: ReturnType<typeof setTimeout> | undefined
      const settle = (result: Effect.Effect<ApiAnswer, TransportFailure | Cause.TimeoutException>) => {
        if (done) return
        done = true
        if (timer !== undefined) clearTimeout(timer)
        resume(result)
      }
      const abort = exchange(url, bodyLimit, (answer) => settle(Effect.succeed(answer)), (failure) => settle(Effect.fail(failure)))
      if (ms !== null && !done) {
        timer = setTimeout(() => {
          settle(Effect.fail(new Cause.TimeoutException()))
          abort()
        }, ms)
      }
      return Effect.sync(() => {
        done = true
        if (timer !== undefined) clearTimeout(timer)
        abort()
      })
    })
}

/** GETs through a `fetch` function (redirects handed back, never followed): for a `fetch` a test provides. */
export const fetchExchange = (fetchFn: typeof globalThis.fetch, headers: Readonly<Record<string, string>>): Exchange =>
(url, bodyLimit, onAnswer, onFailure) => {
  const controller = new AbortController()
  let answered = false
  fetchFn(url, { headers, redirect: "manual", signal: controller.signal }).then((response) => {
    answered = true
    return readResponseBounded(response, bodyLimit(response.status)).then((body): ApiAnswer => {
      if (body._tag === "TooLarge") controller.abort()
      return { url, status: response.status, headers: response.headers, body }
    })
  }).then(onAnswer, (cause: unknown) => onFailure({ _tag: answered ? "ResponseError" : "RequestError", cause }))
  return () => controller.abort()
}
