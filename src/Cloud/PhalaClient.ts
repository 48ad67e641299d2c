import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Agent } from "undici"
import { type Cause, Context, Data, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import { type ApiSettings, defaultMaxResponseBytes } from "../Core/Domain/App.js"
import type { AppId } from "../Core/Domain/AppId.js"
import { isTransientStatus } from "../Core/Domain/HttpStatus.js"
import {
  AppNotFound,
  FetchFailure,
  type FetchFailureReason,
  ListPageFailure,
  type ObservedApp
} from "../Core/Domain/Observation.js"
import { makePermits } from "../Support/Permits.js"
import { makeTurnTaking } from "../Support/TurnTaking.js"
import { userAgent } from "../Support/Version.js"
import { type ApiEndpoint, DaemonEvent, Events } from "../Runtime/Events.js"
import { decodeAppBody, decodeListPage, isAppListBody, type ListPage, toObservedApp } from "./AppResponse.js"
import { type ApiAnswer, asApiGet, fetchExchange, isLiveClock, type TransportFailure } from "./ApiTransport.js"
import { formatBytes } from "./BoundedBody.js"
import { edgeText, makeRedactor, sanitizeObservedApp, truncate } from "./EdgeText.js"
import { apiErrorText } from "./ErrorBody.js"
import { attemptCode, describeCause, maxMessageLength, reasonOfStatus } from "./FailureMessage.js"
import { classifyNotFound, type Confirmation, makeBaseUrlConfirmation, notTheApiMessage, unconfirmedMessage } from "./NotFound.js"
import { isRedirect, redirectMessage } from "./RedirectPolicy.js"
import { honoursRetryAfter, parseRetryAfter, type Retryable, retryFailed, retryPolicy } from "./RetryPolicy.js"
import { dispatchExchange } from "./UndiciExchange.js"

export interface GetAppOptions {
  /** Epoch ms at which the cycle ends; no retry waits past it. */
  readonly deadline?: number | undefined
}

export interface PhalaClientService {
  readonly getApp: (appId: AppId, options?: GetAppOptions) => Effect.Effect<ObservedApp, FetchFailure | AppNotFound>
  /** One page of `GET /apps` (reference §2.5), with the same retries, bounds and concurrency as `getApp`. */
  readonly listPage: (page: number, pageSize: number, options?: GetAppOptions) => Effect.Effect<ListPage, ListPageFailure>
}

export class PhalaClient extends Context.Tag("phala-drift/PhalaClient")<PhalaClient, PhalaClientService>() {
  static readonly layer = (
    settings: ApiSettings
  ): Layer.Layer<PhalaClient, never, Events> => Layer.effect(PhalaClient, make(settings))
}

/** The API's own 404 about the app; `missing_app` only once the base URL is confirmed (DESIGN §4). */
class ApiNotFound extends Data.TaggedError("ApiNotFound")<{
  readonly appId: AppId
  /** What the API said, for the message when the base URL cannot be confirmed. */
  readonly text: string
}> {}

/** One failed attempt, with what the retry policy needs to decide about the next one. */
class AttemptFailure extends Data.TaggedError("AttemptFailure")<{
  readonly failure: FetchFailure | ApiNotFound
  readonly transient: boolean
  readonly retryAfter: Duration.Duration | null
}> {}

type AttemptOutcome = Either.Either<ApiAnswer, TransportFailure | Cause.TimeoutException>

const tooLargeMessage = (status: number, limit: number): string =>
  `HTTP ${status}: body larger than ${formatBytes(limit)} (api.max_response_bytes), reading stopped`

const isSuccess = (status: number): boolean => status >= 200 && status < 300

// error bodies are read only for their message and the 404 rule; a few KB is all the API ever sends
const errorBodyLimit = 64 * 1024

export const make = (settings: ApiSettings): Effect.Effect<PhalaClientService, never, Events> =>
  Effect.gen(function*() {
    // a `fetch` a test provides, the platform's way (FetchHttpClient.Fetch); otherwise undici's dispatcher directly
    const providedFetch = yield* Effect.serviceOption(FetchHttpClient.Fetch)
    const events = yield* Events
    // shared by every caller: the bound is on requests in flight, not on apps being polled
    const permits = yield* makePermits(settings.concurrency)
    const baseUrl = settings.url.replace(/\/+$/, "")

    const maxBody = settings.maxResponseBytes ?? defaultMaxResponseBytes
    const redact = makeRedactor(settings.apiKey)
    const headers = {
      "X-API-Key": Redacted.value(settings.apiKey),
      "X-Phala-Version": settings.apiVersion,
      Accept: "application/json",
      // what `fetch` asks for: the API may compress its larger answers (list pages)
      "Accept-Encoding": "gzip, deflate, br",
      "User-Agent": userAgent
    }
    const pathOf = (url: string): string => {
      try {
        const parsed = new URL(url)
        return `${parsed.pathname}${parsed.search}`
      } catch {
        return "?"
      }
    }
    const appUrl = (appId: AppId) => `${baseUrl}/apps/${encodeURIComponent(appId)}`
    const probeUrl = `${baseUrl}/apps?page=1&page_size=1`

    const failure = (appId: AppId, reason: FetchFailureReason, status: number | null, message: string) =>
      new FetchFailure({ appId, reason, status, message: truncate(redact(message), maxMessageLength) })

    const bodyLimit = (status: number): number =>
      isSuccess(status) ? maxBody : isRedirect(status) ? 0 : Math.min(maxBody, errorBodyLimit)

    // redirects come back to us (RedirectPolicy); the body is read within its bound; the attempt's timeout covers
    // both and aborts the request wherever it is. On the live clock it is one timer inside the request; under a test
    // clock, Effect's own timeout, which that clock drives
    const clock = yield* Effect.clock
    const live = isLiveClock(clock)
    const exchange = Option.match(providedFetch, {
      onNone: () => dispatchExchange(new Agent(), headers),
      onSome: (fetchFn) => fetchExchange(fetchFn, headers)
    })
    const get = asApiGet(exchange, live ? settings.timeout : null)
    const send = (url: string): Effect.Effect<AttemptOutcome> =>
      live ? Effect.either(get(url, bodyLimit)) : get(url, bodyLimit).pipe(Effect.timeout(settings.timeout), Effect.either)

    const logRequest = (url: string, outcome: AttemptOutcome, ms: number) =>
      // the path only: never the headers (the key) nor credentials a base URL might carry; built only when logged
      Effect.whenLogLevel(
        Effect.logDebug("Phala API request").pipe(
          Effect.annotateLogs({
            method: "GET",
            path: pathOf(url),
            status: Either.match(outcome, { onLeft: (error) => error._tag === "TimeoutException" ? "timeout" : "network_error", onRight: (r) => r.status }),
            duration_ms: ms
          })
        ),
        "Debug"
      )

    const timed = (url: string, endpoint: ApiEndpoint) =>
      Effect.suspend(() => {
        const started = clock.unsafeCurrentTimeMillis()
        return Effect.flatMap(send(url), (outcome) => {
          const finished = clock.unsafeCurrentTimeMillis()
          return events.publish(DaemonEvent.ApiAttempt({ code: attemptCode(outcome), seconds: (finished - started) / 1000, endpoint })).pipe(
            Effect.zipRight(logRequest(url, outcome, finished - started)),
            Effect.as({ outcome, finished })
          )
        })
      })

    // `GET /apps?page=1&page_size=1` answering a page of the list confirms the base URL is the API's
    const probe: Effect.Effect<Confirmation> = permits.withPermit(
      Effect.map(timed(probeUrl, "list"), ({ outcome }) =>
        Either.match(outcome, {
          onLeft: (error) => Either.left(error._tag === "TimeoutException" ? "timeout" : "network error"),
          onRight: (response): Confirmation =>
            isSuccess(response.status) && response.body._tag === "Complete" && isAppListBody(response.body.text)
              ? Either.void
              : Either.left(isSuccess(response.status) ? `HTTP ${response.status}, not the app list` : `HTTP ${response.status}`)
        }))
    )
    const baseUrlConfirmation = yield* makeBaseUrlConfirmation(probe)

    const permanent = (failed: FetchFailure | ApiNotFound) =>
      new AttemptFailure({ failure: failed, transient: false, retryAfter: null })

    // answers land in bursts (a page of 100 apps takes a few ms to decode, and 64 requests answer together): their
    // decoding takes turns with timers and the HTTP server
    const takeTurn = makeTurnTaking()

    const fromSuccess = (appId: AppId, response: ApiAnswer): Effect.Effect<ObservedApp, AttemptFailure> => {
      const { status, body } = response
      if (body._tag === "TooLarge") {
        return Effect.fail(permanent(failure(appId, "bad_response", status, tooLargeMessage(status, body.limit))))
      }
      return Effect.flatMap(takeTurn(() => decodeAppBody(body.text)), (decoded) =>
        Either.match(decoded, {
          onLeft: (problem) => Effect.fail(permanent(failure(appId, problem.reason, status, `HTTP ${status}: ${problem.message}`))),
          onRight: (response) =>
            Effect.zipRight(
              baseUrlConfirmation.confirm,
              Either.match(toObservedApp(appId, response), {
                onLeft: (problem) =>
                  Effect.fail(permanent(failure(appId, problem.reason, status, `HTTP ${status}: ${problem.message}`))),
                onRight: (app) => Effect.succeed(sanitizeObservedApp(app, redact))
              })
            )
        }))
    }

    const fromResponse = (appId: AppId, response: ApiAnswer, now: number): Effect.Effect<ObservedApp, AttemptFailure> => {
      const { status, body } = response
      if (isSuccess(status)) return fromSuccess(appId, response)
      if (isRedirect(status)) {
        const location = response.headers.get("location")
        return Effect.fail(permanent(failure(appId, "client", status, redirectMessage(status, response.url, location))))
      }
      if (status === 404) {
        const kind = classifyNotFound(body, response.headers.get("content-type"))
        return Effect.fail(permanent(
          kind._tag === "AboutApp"
            ? new ApiNotFound({ appId, text: kind.text })
            : failure(appId, "client", status, notTheApiMessage(kind.what))
        ))
      }
      const problem = statusProblem(response, now)
      return Effect.fail(
        new AttemptFailure({
          failure: failure(appId, problem.reason, status, problem.message),
          transient: problem.transient,
          retryAfter: problem.retryAfter
        })
      )
    }

    // an error status other than a redirect or 404: what it means, whether to retry, and how long to wait
    const statusProblem = (response: ApiAnswer, now: number) => {
      const { status, body } = response
      const said = body._tag === "Complete" ? apiErrorText(body.text) : Option.none()
      const text = Option.match(said, { onNone: () => "", onSome: (text) => `: ${text}` })
      const retryAfter = honoursRetryAfter(status)
        ? Option.getOrNull(Option.flatMap(Option.fromNullable(response.headers.get("retry-after")), (value) => parseRetryAfter(value, now)))
        : null
      return { reason: reasonOfStatus(status), message: `HTTP ${status}${text}`, transient: isTransientStatus(status), retryAfter }
    }

    const interpret = (appId: AppId, outcome: AttemptOutcome, now: number): Effect.Effect<ObservedApp, AttemptFailure> =>
      Either.match(outcome, {
        onRight: (response) => fromResponse(appId, response, now),
        onLeft: (error) => {
          const { reason, message } = transportProblem(error)
          return Effect.fail(new AttemptFailure({ failure: failure(appId, reason, null, message), transient: true, retryAfter: null }))
        }
      })

    const transportProblem = (error: TransportFailure | Cause.TimeoutException) => {
      switch (error._tag) {
        case "TimeoutException":
          return { reason: "timeout" as const, message: `no response within ${Duration.format(settings.timeout)}` }
        case "RequestError":
          return { reason: "network" as const, message: `network error: ${describeCause(error.cause)}` }
        case "ResponseError":
          return { reason: "network" as const, message: `network error reading the body: ${describeCause(error.cause)}` }
      }
    }

    /** A failed attempt with what the shared retry policy reads per call: which attempt it was, and the deadline. */
    interface Tried extends Retryable {
      readonly failed: AttemptFailure
      readonly appId: AppId
      readonly attempt: number
    }

    // the permit covers one attempt, so a request backing off does not hold a slot others could use
    const attempt = (appId: AppId, attempt: number, deadline: number | undefined): Effect.Effect<ObservedApp, Tried> =>
      permits.withPermit(Effect.flatMap(timed(appUrl(appId), "app"), ({ finished, outcome }) => interpret(appId, outcome, finished))).pipe(
        Effect.mapError((failed): Tried => ({ failed, appId, attempt, deadline, transient: failed.transient, retryAfter: failed.retryAfter }))
      )

    // built once: every request of this client shares it
    const policy = retryPolicy<Tried>({
      retries: settings.retries,
      onRetry: (tried, wait) =>
        Effect.logDebug("retrying Phala API request").pipe(
          Effect.annotateLogs({
            app_id: tried.appId,
            attempt: tried.attempt,
            reason: tried.failed.failure._tag === "FetchFailure" ? tried.failed.failure.reason : "not_found",
            status: tried.failed.failure._tag === "FetchFailure" ? tried.failed.failure.status : 404,
            wait_ms: Math.round(Duration.toMillis(wait))
          })
        )
    })

    const afterAttempts = (final: FetchFailure | ApiNotFound, attempts: number): FetchFailure | ApiNotFound => {
      if (final._tag === "ApiNotFound" || attempts < 2) return final
      const suffix = ` (${attempts} attempts)`
      return new FetchFailure({
        appId: final.appId,
        reason: final.reason,
        status: final.status,
        message: `${truncate(final.message, maxMessageLength - suffix.length)}${suffix}`
      })
    }

    // the API said the app does not exist: believed only from a base URL that has answered like the API
    const resolveNotFound = (notFound: ApiNotFound): Effect.Effect<never, FetchFailure | AppNotFound> =>
      Effect.flatMap(baseUrlConfirmation.check, (confirmation) =>
        Either.match(confirmation, {
          onRight: (): FetchFailure | AppNotFound => new AppNotFound({ appId: notFound.appId }),
          onLeft: (problem) => failure(notFound.appId, "client", 404, unconfirmedMessage(problem, notFound.text))
        }).pipe(Effect.fail))

    // no span and no log annotation per call: nothing exports traces, and the cycle annotates its logs with app_id
    const getApp = (appId: AppId, options?: GetAppOptions): Effect.Effect<ObservedApp, FetchFailure | AppNotFound> => {
      const deadline = options?.deadline
      let attempts = 0
      const once = Effect.suspend(() => attempt(appId, ++attempts, deadline))
      return once.pipe(
        retryFailed(policy),
        Effect.catchAll((tried) => Effect.fail(afterAttempts(tried.failed.failure, tried.attempt))),
        Effect.catchTag("ApiNotFound", resolveNotFound)
      )
    }

    // == list pages: same transport, bounds, permits and retry schedule; no 404 rule (a list has no missing app)

    interface PageTried extends Retryable {
      readonly failure: ListPageFailure
      readonly page: number
      readonly attempt: number
    }

    const pageFailure = (page: number, reason: FetchFailureReason, status: number | null, message: string) =>
      new ListPageFailure({ page, reason, status, message: truncate(redact(message), maxMessageLength) })

    const pageUrl = (page: number, pageSize: number) => `${baseUrl}/apps?page=${page}&page_size=${pageSize}`

    type PageProblem = Omit<PageTried, "page" | "attempt" | "deadline">
    const pagePermanent = (failed: ListPageFailure): PageProblem => ({ failure: failed, transient: false, retryAfter: null })

    const interpretPage = (page: number, outcome: AttemptOutcome, now: number): Effect.Effect<ListPage, PageProblem> =>
      Either.match(outcome, {
        onLeft: (error) => {
          const { reason, message } = transportProblem(error)
          return Effect.fail({ failure: pageFailure(page, reason, null, message), transient: true, retryAfter: null })
        },
        onRight: (response): Effect.Effect<ListPage, PageProblem> => {
          const { status, body } = response
          if (isSuccess(status)) {
            if (body._tag === "TooLarge") {
              return Effect.fail(pagePermanent(pageFailure(page, "bad_response", status, tooLargeMessage(status, body.limit))))
            }
            return Effect.flatMap(takeTurn(() => decodeListPage(body.text)), (decoded) =>
              Either.match(decoded, {
                onLeft: (problem) => Effect.fail(pagePermanent(pageFailure(page, problem.reason, status, `HTTP ${status}: ${problem.message}`))),
                onRight: (listed) =>
                  Effect.as(baseUrlConfirmation.confirm, {
                    ...listed,
                    entries: listed.entries.map((entry) => ({
                      appId: entry.appId,
                      name: entry.name === null ? null : edgeText(redact)(entry.name),
                      app: entry.app === null ? null : sanitizeObservedApp(entry.app, redact)
                    }))
                  })
              }))
          }
          if (isRedirect(status)) {
            const location = response.headers.get("location")
            return Effect.fail(pagePermanent(pageFailure(page, "client", status, redirectMessage(status, response.url, location))))
          }
          const problem = statusProblem(response, now)
          return Effect.fail({
            failure: pageFailure(page, problem.reason, status, problem.message),
            transient: problem.transient,
            retryAfter: problem.retryAfter
          })
        }
      })

    const pagePolicy = retryPolicy<PageTried>({
      retries: settings.retries,
      onRetry: (tried, wait) =>
        Effect.logDebug("retrying Phala API list page").pipe(
          Effect.annotateLogs({
            page: tried.page,
            attempt: tried.attempt,
            reason: tried.failure.reason,
            status: tried.failure.status,
            wait_ms: Math.round(Duration.toMillis(wait))
          })
        )
    })

    const listPage = (page: number, pageSize: number, options?: GetAppOptions): Effect.Effect<ListPage, ListPageFailure> => {
      const deadline = options?.deadline
      let attempts = 0
      return Effect.suspend(() => {
        const attempt = ++attempts
        return permits.withPermit(
          Effect.flatMap(timed(pageUrl(page, pageSize), "list"), ({ finished, outcome }) => interpretPage(page, outcome, finished))
        ).pipe(Effect.mapError((problem): PageTried => ({ ...problem, page, attempt, deadline })))
      }).pipe(
        retryFailed(pagePolicy),
        Effect.mapError((tried) =>
          tried.attempt < 2 ? tried.failure : new ListPageFailure({
            ...tried.failure,
            message: `${truncate(tried.failure.message, maxMessageLength - 14)} (${tried.attempt} attempts)`
          })
        )
      )
    }

    return { getApp, listPage }
  })
