import { Effect } from "effect"
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

export type ApiGet = (url: string, bodyLimit: (status: number) => number) => Effect.Effect<ApiAnswer, TransportFailure>

/**
 * A GET as one promise chain under one `Effect.async`: `fetch` (redirects handed back to the caller, never followed),
 * then the body within the limit its status allows. Interrupting it (the attempt's timeout, shutdown) aborts the
 * request, whatever stage it is at. Every request of a cycle goes through here, so it spends nothing per call that
 * the answer does not need.
 */
export const makeApiGet = (fetchFn: typeof globalThis.fetch, headers: Readonly<Record<string, string>>): ApiGet =>
(url, bodyLimit) =>
  Effect.async<ApiAnswer, TransportFailure>((resume) => {
    const controller = new AbortController()
    let answered = false
    fetchFn(url, { headers, redirect: "manual", signal: controller.signal }).then(
      (response) => {
        answered = true
        return readResponseBounded(response, bodyLimit(response.status)).then((body): ApiAnswer => {
          if (body._tag === "TooLarge") controller.abort()
          return { url, status: response.status, headers: response.headers, body }
        })
      }
    ).then(
      (answer) => resume(Effect.succeed(answer)),
      (cause: unknown) => resume(Effect.fail({ _tag: answered ? "ResponseError" : "RequestError", cause }))
    )
    return Effect.sync(() => controller.abort())
  })
