import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Duration, Effect, Either, Ref, Schedule, Stream } from "effect"
import { isTransientStatus } from "../../Core/Domain/HttpStatus.js"
import { backoffSchedule } from "../../Core/Backoff.js"
import { type Masker, secretMasker } from "../../Core/Secrets.js"
import { ReceiverError } from "./ReceiverError.js"

export interface RetrySettings {
  /** Retries after the first attempt, for transient failures only. */
  readonly times: number
  readonly base: Duration.Duration
  readonly cap: Duration.Duration
}

export const defaultRetry: RetrySettings = { times: 3, base: Duration.millis(500), cap: Duration.seconds(10) }

export interface PostJson {
  /** Receiver name: the only identification that goes into errors and logs. */
  readonly receiver: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** Per attempt. */
  readonly timeout: Duration.Duration
  readonly retry?: RetrySettings
  /** Strings to cut out of any transport error text (URL, tokens) before it reaches a message. */
  readonly secrets?: ReadonlyArray<string>
}


/**
 * A receiver's answer is not trusted: a 2xx body is never read (the connection is aborted), an error body only up
 * to this many bytes after decompression, for a hint in the message. A gzip bomb or an endless body costs nothing.
 */
export const maxErrorBodyBytes = 4096
const maxExcerptChars = 200
const excerptWait = Duration.seconds(2)

const readPrefix = (
  response: HttpClientResponse.HttpClientResponse,
  max: number
): Effect.Effect<Uint8Array, HttpClientError.ResponseError> =>
  Stream.runFoldWhile(
    response.stream,
    new Uint8Array(0),
    (bytes) => bytes.length < max,
    (bytes, chunk) => {
      const next = new Uint8Array(Math.min(max, bytes.length + chunk.length))
      next.set(bytes)
      next.set(chunk.subarray(0, next.length - bytes.length), bytes.length)
      return next
    }
  )

/** One printable line from the start of an error body (Slack says e.g. `invalid_payload`), or "" when none came. */
const errorExcerpt = (response: HttpClientResponse.HttpClientResponse, mask: Masker) =>
  readPrefix(response, maxErrorBodyBytes).pipe(
    Effect.map((bytes) => {
      // scrubbed before it is cut, so no secret survives in part
      const text = mask(new TextDecoder().decode(bytes)).replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, " ").trim()
      return text.length > maxExcerptChars ? `${text.slice(0, maxExcerptChars)}…` : text
    }),
    Effect.timeoutTo({ duration: excerptWait, onTimeout: () => "", onSuccess: (text) => text }),
    Effect.orElseSucceed(() => "")
  )

/** `fetch failed (connect ECONNREFUSED 127.0.0.1:9093)`: undici keeps the useful part in `cause`. */
const describe = (cause: unknown): string => {
  if (!(cause instanceof Error)) return String(cause)
  const inner = cause.cause instanceof Error ? cause.cause.message : null
  return inner === null || inner === cause.message ? cause.message : `${cause.message} (${inner})`
}

/** Variants of a URL as they may appear inside an error text. */
export const urlSecrets = (url: string): ReadonlyArray<string> => {
  try {
    const parsed = new URL(url)
    return [url, parsed.href, `${parsed.pathname}${parsed.search}`, parsed.password, parsed.username]
  } catch {
    return [url]
  }
}

/**
 * POSTs a JSON body with a timeout per attempt, retrying network errors, timeouts and 408/429/5xx with jittered
 * exponential backoff. Fails with a `ReceiverError` whose text carries no URL or secret.
 */
export const postJson = (options: PostJson): Effect.Effect<void, ReceiverError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    // the URL of a webhook or Slack receiver is a credential: keep it out of spans as well as logs
    // scoped: whatever of the answer is left unread is aborted when the attempt ends
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true), HttpClient.withScope)
    const retry = options.retry ?? defaultRetry
    const mask = secretMasker([...urlSecrets(options.url), ...(options.secrets ?? [])])
    const attempts = yield* Ref.make(0)
    const request = HttpClientRequest.post(options.url).pipe(
      HttpClientRequest.setHeaders(options.headers),
      HttpClientRequest.bodyText(options.body, "application/json")
    )

    const failure = (fields: Omit<ConstructorParameters<typeof ReceiverError>[0], "receiver" | "attempts">) =>
      Effect.map(Ref.get(attempts), (n) => new ReceiverError({ ...fields, receiver: options.receiver, attempts: n }))

    const attempt = Effect.scoped(Effect.gen(function*() {
      yield* Ref.update(attempts, (n) => n + 1)
      const outcome = yield* client.execute(request).pipe(Effect.timeout(options.timeout), Effect.either)
      if (Either.isRight(outcome)) {
        const response = outcome.right
        const status = response.status
        if (status >= 200 && status < 300) return
        const excerpt = yield* errorExcerpt(response, mask)
        return yield* Effect.flip(failure({
          reason: "status",
          status,
          transient: isTransientStatus(status),
          detail: excerpt === "" ? `HTTP ${status}` : `HTTP ${status}: ${excerpt}`
        }))
      }
      const error = outcome.left
      return yield* Effect.flip(
        error._tag === "TimeoutException"
          ? failure({
            reason: "timeout",
            status: null,
            transient: true,
            detail: `no response within ${Duration.format(options.timeout)}`
          })
          : failure({
            reason: "network",
            status: null,
            transient: true,
            detail: `network error: ${mask(describe(error.cause))}`
          })
      )
    }))

    const schedule = backoffSchedule(retry).pipe(
      Schedule.intersect(Schedule.recurs(retry.times)),
      Schedule.whileInput((error: ReceiverError) => error.transient)
    )

    yield* attempt.pipe(
      Effect.tapError((error) =>
        Effect.logDebug("notification attempt failed").pipe(
          Effect.annotateLogs({ receiver: options.receiver, attempt: error.attempts, reason: error.reason, status: error.status })
        )
      ),
      Effect.retry(schedule)
    )
  })
