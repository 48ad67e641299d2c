import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, Either, Ref, Schedule } from "effect"
import { isTransientStatus } from "../../Domain/HttpStatus.js"
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

// Below this length a "secret" is a test value or empty, and cutting it out would shred ordinary words
const minSecretLength = 6

export const scrub = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce(
    (acc, secret) => (secret.length < minSecretLength ? acc : acc.split(secret).join("<redacted>")),
    text
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
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
    const retry = options.retry ?? defaultRetry
    const secrets = [...urlSecrets(options.url), ...(options.secrets ?? [])]
    const attempts = yield* Ref.make(0)
    const request = HttpClientRequest.post(options.url).pipe(
      HttpClientRequest.setHeaders(options.headers),
      HttpClientRequest.bodyText(options.body, "application/json")
    )

    const failure = (fields: Omit<ConstructorParameters<typeof ReceiverError>[0], "receiver" | "attempts">) =>
      Effect.map(Ref.get(attempts), (n) => new ReceiverError({ ...fields, receiver: options.receiver, attempts: n }))

    const attempt = Effect.gen(function*() {
      yield* Ref.update(attempts, (n) => n + 1)
      const outcome = yield* client.execute(request).pipe(
        Effect.flatMap((response) => Effect.as(Effect.ignore(response.text), response.status)),
        Effect.timeout(options.timeout),
        Effect.either
      )
      if (Either.isRight(outcome)) {
        const status = outcome.right
        if (status >= 200 && status < 300) return
        return yield* Effect.flip(failure({
          reason: "status",
          status,
          transient: isTransientStatus(status),
          detail: `HTTP ${status}`
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
            detail: `network error: ${scrub(describe(error.cause), secrets)}`
          })
      )
    })

    const schedule = Schedule.exponential(retry.base, 2).pipe(
      Schedule.jittered,
      Schedule.modifyDelay((_, delay) => Duration.min(delay, retry.cap)),
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
