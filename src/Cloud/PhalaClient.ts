import { Headers, HttpClient, type HttpClientError, HttpClientRequest } from "@effect/platform"
import { type Cause, Clock, Context, Data, Duration, Effect, Either, Layer, Option, Redacted, Ref } from "effect"
import type { ApiSettings, AppId } from "../Domain/App.js"
import { AppNotFound, FetchFailure, type FetchFailureReason, type ObservedApp } from "../Domain/Observation.js"
import { userAgent } from "../Version.js"
import { ApiObserver } from "./ApiObserver.js"
import { parseAppBody } from "./AppResponse.js"
import { apiErrorText } from "./ErrorBody.js"
import { describeCause, maxMessageLength, reasonOfStatus, redactSecret, truncate } from "./FailureMessage.js"
import { isTransientStatus } from "../Domain/HttpStatus.js"
import { honoursRetryAfter, parseRetryAfter, retryPolicy } from "./RetryPolicy.js"

export interface GetAppOptions {
  /** Epoch ms at which the cycle ends; no retry waits past it. */
  readonly deadline?: number | undefined
}

export interface PhalaClientService {
  readonly getApp: (appId: AppId, options?: GetAppOptions) => Effect.Effect<ObservedApp, FetchFailure | AppNotFound>
}

export class PhalaClient extends Context.Tag("phala-drift/PhalaClient")<PhalaClient, PhalaClientService>() {
  static readonly layer = (
    settings: ApiSettings
  ): Layer.Layer<PhalaClient, never, HttpClient.HttpClient | ApiObserver> => Layer.effect(PhalaClient, make(settings))
}

/** One failed attempt, with what the retry policy needs to decide about the next one. */
class AttemptFailure extends Data.TaggedError("AttemptFailure")<{
  readonly failure: FetchFailure | AppNotFound
  readonly transient: boolean
  readonly retryAfter: Duration.Duration | null
}> {}

interface RawResponse {
  readonly status: number
  readonly headers: Headers.Headers
  readonly body: string
}

type AttemptOutcome = Either.Either<RawResponse, HttpClientError.HttpClientError | Cause.TimeoutException>

const attemptCode = (outcome: AttemptOutcome): string =>
  Either.match(outcome, {
    onRight: (response) => String(response.status),
    onLeft: (error) => (error._tag === "TimeoutException" ? "timeout" : "network")
  })

export const make = (settings: ApiSettings): Effect.Effect<PhalaClientService, never, HttpClient.HttpClient | ApiObserver> =>
  Effect.gen(function*() {
    // no span or trace headers per request: nothing exports traces, and at 1000 apps they cost ~13% of cycle CPU
    const httpClient = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
    const observer = yield* ApiObserver
    // shared by every caller: the bound is on requests in flight, not on apps being polled
    const permits = yield* Effect.makeSemaphore(Math.max(1, settings.concurrency))
    const baseUrl = settings.url.replace(/\/+$/, "")

    const request = (appId: AppId) =>
      HttpClientRequest.get(`${baseUrl}/apps/${encodeURIComponent(appId)}`).pipe(
        HttpClientRequest.setHeaders({
          "X-API-Key": Redacted.value(settings.apiKey),
          "X-Phala-Version": settings.apiVersion,
          Accept: "application/json",
          "User-Agent": userAgent
        })
      )

    const failure = (appId: AppId, reason: FetchFailureReason, status: number | null, message: string) =>
      new FetchFailure({ appId, reason, status, message: truncate(redactSecret(message, settings.apiKey)) })

    const send = (appId: AppId): Effect.Effect<AttemptOutcome> =>
      httpClient.execute(request(appId)).pipe(
        Effect.flatMap((response) =>
          Effect.map(response.text, (body) => ({ status: response.status, headers: response.headers, body }))
        ),
        Effect.timeout(settings.timeout),
        Effect.either
      )

    const fromResponse = (appId: AppId, response: RawResponse, now: number): Either.Either<ObservedApp, AttemptFailure> => {
      const { status } = response
      if (status >= 200 && status < 300) {
        return Either.mapLeft(parseAppBody(appId, response.body), (problem) =>
          new AttemptFailure({
            failure: failure(appId, "bad_response", status, `HTTP ${status}: ${problem}`),
            transient: false,
            retryAfter: null
          }))
      }
      if (status === 404) {
        return Either.left(new AttemptFailure({ failure: new AppNotFound({ appId }), transient: false, retryAfter: null }))
      }
      const text = Option.match(apiErrorText(response.body), { onNone: () => "", onSome: (text) => `: ${text}` })
      const retryAfter = honoursRetryAfter(status)
        ? Headers.get(response.headers, "retry-after").pipe(
          Option.flatMap((value) => parseRetryAfter(value, now)),
          Option.getOrNull
        )
        : null
      return Either.left(
        new AttemptFailure({
          failure: failure(appId, reasonOfStatus(status), status, `HTTP ${status}${text}`),
          transient: isTransientStatus(status),
          retryAfter
        })
      )
    }

    const interpret = (appId: AppId, outcome: AttemptOutcome, now: number): Either.Either<ObservedApp, AttemptFailure> =>
      Either.match(outcome, {
        onRight: (response) => fromResponse(appId, response, now),
        onLeft: (error) => {
          const transient = (reason: FetchFailureReason, message: string) =>
            new AttemptFailure({ failure: failure(appId, reason, null, message), transient: true, retryAfter: null })
          switch (error._tag) {
            case "TimeoutException":
              return Either.left(transient("timeout", `no response within ${Duration.format(settings.timeout)}`))
            case "RequestError":
              return Either.left(transient("network", `network error: ${describeCause(error.cause)}`))
            case "ResponseError":
              return Either.left(transient("network", `network error reading the body: ${describeCause(error.cause)}`))
          }
        }
      })

    // the permit covers one attempt, so a request backing off does not hold a slot others could use
    const attempt = (appId: AppId, attempts: Ref.Ref<number>): Effect.Effect<ObservedApp, AttemptFailure> =>
      permits.withPermits(1)(Effect.gen(function*() {
        yield* Ref.update(attempts, (n) => n + 1)
        const started = yield* Clock.currentTimeMillis
        const outcome = yield* send(appId)
        const finished = yield* Clock.currentTimeMillis
        yield* observer.onAttempt({ code: attemptCode(outcome), seconds: (finished - started) / 1000 })
        return yield* interpret(appId, outcome, finished)
      }))

    const logRetry = (attempts: Ref.Ref<number>) => (failed: AttemptFailure, wait: Duration.Duration) =>
      Effect.flatMap(Ref.get(attempts), (attempt) =>
        Effect.logDebug("retrying Phala API request").pipe(
          Effect.annotateLogs({
            attempt,
            reason: failed.failure._tag === "FetchFailure" ? failed.failure.reason : "not_found",
            status: failed.failure._tag === "FetchFailure" ? failed.failure.status : 404,
            wait_ms: Math.round(Duration.toMillis(wait))
          })
        ))

    const afterAttempts = (final: FetchFailure | AppNotFound, attempts: number): FetchFailure | AppNotFound => {
      if (final._tag === "AppNotFound" || attempts < 2) return final
      const suffix = ` (${attempts} attempts)`
      return new FetchFailure({
        appId: final.appId,
        reason: final.reason,
        status: final.status,
        message: `${truncate(final.message, maxMessageLength - suffix.length)}${suffix}`
      })
    }

    const getApp = Effect.fn("PhalaClient.getApp")(
      function*(appId: AppId, options?: GetAppOptions) {
        yield* Effect.annotateCurrentSpan("app_id", appId)
        const attempts = yield* Ref.make(0)
        const policy = retryPolicy<AttemptFailure>({
          retries: settings.retries,
          deadline: options?.deadline,
          onRetry: logRetry(attempts)
        })
        return yield* attempt(appId, attempts).pipe(
          Effect.retry(policy),
          Effect.catchAll((failed) =>
            Effect.flatMap(Ref.get(attempts), (n) => Effect.fail(afterAttempts(failed.failure, n)))
          )
        )
      },
      (effect, appId) => Effect.annotateLogs(effect, { app_id: appId })
    )

    return { getApp }
  })
