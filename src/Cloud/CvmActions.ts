import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Clock, Context, Data, Duration, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import type { ApiSettings } from "../Core/Domain/App.js"
import type { FetchFailureReason } from "../Core/Domain/Observation.js"
import type { ActionKind } from "../Core/Plan/Actions.js"
import { cvmIdOf } from "../Core/Plan/Actions.js"
import { DaemonEvent, Events } from "../Runtime/Events.js"
import { userAgent } from "../Support/Version.js"
import { readBounded } from "./BoundedBody.js"
import { edgeText, makeRedactor, truncate } from "./EdgeText.js"
import { apiErrorText } from "./ErrorBody.js"
import { attemptCode, describeCause, maxMessageLength, reasonOfStatus } from "./FailureMessage.js"
import { isRedirect, manualRedirects, redirectMessage } from "./RedirectPolicy.js"
import { honoursRetryAfter, parseRetryAfter } from "./RetryPolicy.js"

/**
 * The CVM lifecycle calls `apply` and self-healing make: `POST /api/v1/cvms/{id}/start|shutdown|stop`, with `{id}`
 * the vm_uuid without dashes (DESIGN §13). A POST that changes the fleet is not repeated on a guess: only the
 * answers that say "not now" are retried, a bounded number of times: 409 "Another operation in progress" (the CVM
 * is busy) and 429/503 with a `Retry-After`. A timeout or a network error is not retried, since the first request
 * may have been carried out.
 */

/** Why an action failed: the read path's reasons, plus `conflict` (still busy after the retries), `not_found` (the API
 * does not know the CVM), `invalid_id` (nothing was sent) and `superseded` (while it waited to retry, the caller's
 * check found the action no longer wanted; not sent again). */
export type ActionFailureReason = FetchFailureReason | "not_found" | "conflict" | "invalid_id" | "superseded"

export class ActionFailure extends Data.TaggedError("ActionFailure")<{
  readonly reason: ActionFailureReason
  readonly status: number | null
  readonly message: string
  readonly attempts: number
}> {}

export interface ActionAccepted {
  /** The CVM's status in the API's answer (`starting`, `shutting_down`, `stopping`), when it sent one. */
  readonly status: string | null
  readonly attempts: number
}

export interface ActionRetry {
  /** Most requests for one action, the first included. */
  readonly attempts: number
  /** First wait after a 409 "Another operation in progress", doubled after each. */
  readonly conflictDelay: Duration.Duration
  /** A `Retry-After` longer than this ends the retries instead of being waited for. */
  readonly maxRetryAfter: Duration.Duration
}

export const defaultActionRetry: ActionRetry = {
  attempts: 4,
  conflictDelay: Duration.seconds(2),
  maxRetryAfter: Duration.minutes(1)
}

export interface ActOptions {
  /**
   * Asked before each retry: whether the action is still wanted. Another operation was running on the CVM, and once
   * it is over the CVM may well be where the action would have taken it.
   */
  readonly stillWanted?: Effect.Effect<boolean>
}

export interface CvmActionsService {
  readonly act: (action: ActionKind, vmUuid: string, options?: ActOptions) => Effect.Effect<ActionAccepted, ActionFailure>
}

export class CvmActions extends Context.Tag("phala-drift/CvmActions")<CvmActions, CvmActionsService>() {
  static readonly layer = (
    settings: ApiSettings,
    retry: ActionRetry = defaultActionRetry
  ): Layer.Layer<CvmActions, never, HttpClient.HttpClient> => Layer.effect(CvmActions, make(settings, retry))
}

const VmAnswer = Schema.parseJson(Schema.Struct({ status: Schema.String }))
const decodeVmAnswer = Schema.decodeUnknownEither(VmAnswer)

/** The API's "busy" answer; a 409 with an error code (e.g. ERR-03-010, several CVMs match) is not worth a retry. */
export const isBusyConflict = (body: string): boolean =>
  Option.match(apiErrorText(body), {
    onNone: () => false,
    onSome: (text) => /another operation in progress/i.test(text) && !/"error_code"/.test(body)
  })

// the read path's classification, plus the two answers that mean something of their own on an action
const reasonOf = (status: number): ActionFailureReason =>
  status === 404 ? "not_found" : status === 409 ? "conflict" : reasonOfStatus(status)

const bodyLimit = 64 * 1024

type Step =
  | { readonly _tag: "Done"; readonly accepted: ActionAccepted }
  | { readonly _tag: "Failed"; readonly failure: ActionFailure }
  | { readonly _tag: "Again"; readonly wait: Duration.Duration; readonly failure: ActionFailure }

export const make = (settings: ApiSettings, retry: ActionRetry): Effect.Effect<CvmActionsService, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const httpClient = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
    const baseUrl = settings.url.replace(/\/+$/, "")
    const redact = makeRedactor(settings.apiKey)
    const clean = edgeText(redact)
    const headers = {
      "X-API-Key": Redacted.value(settings.apiKey),
      "X-Phala-Version": settings.apiVersion,
      Accept: "application/json",
      "User-Agent": userAgent
    }
    const message = (text: string): string => truncate(redact(text), maxMessageLength)
    // counted in phala_drift_api_requests_total{endpoint="action"} where the daemon's event hub is there (serve)
    const events = yield* Effect.serviceOption(Events)
    const counted = <A extends Either.Either<{ readonly response: { readonly status: number } }, { readonly _tag: string }>>(started: number, outcome: A) =>
      Option.match(events, {
        onNone: () => Effect.succeed(outcome),
        onSome: (hub) =>
          Effect.flatMap(Clock.currentTimeMillis, (finished) =>
            Effect.as(
              hub.publish(DaemonEvent.ApiAttempt({
                code: attemptCode(Either.map(outcome, ({ response }) => response)),
                seconds: (finished - started) / 1000,
                endpoint: "action"
              })),
              outcome
            ))
      })

    const once = (url: string, attempt: number): Effect.Effect<Step> =>
      Effect.flatMap(Clock.currentTimeMillis, (started) =>
        httpClient.execute(HttpClientRequest.post(url).pipe(HttpClientRequest.setHeaders(headers))).pipe(
          Effect.flatMap((response) =>
            Effect.map(readBounded(response, isRedirect(response.status) ? 0 : bodyLimit), (body) => ({ response, body }))
          ),
          Effect.provideService(FetchHttpClient.RequestInit, manualRedirects),
          Effect.timeout(settings.timeout),
          Effect.either,
          Effect.flatMap((outcome) => counted(started, outcome))
        )).pipe(
        Effect.map((outcome): Step => {
          if (Either.isLeft(outcome)) {
            const error = outcome.left
            const failure = error._tag === "TimeoutException"
              ? new ActionFailure({
                reason: "timeout",
                status: null,
                message: `no response within ${Duration.format(settings.timeout)}; the action may or may not have been taken`,
                attempts: attempt
              })
              : new ActionFailure({ reason: "network", status: null, message: message(`network error: ${describeCause(error.cause)}`), attempts: attempt })
            return { _tag: "Failed", failure }
          }
          const { response, body } = outcome.right
          const status = response.status
          const text = body._tag === "Complete" ? body.text : ""
          if (status >= 200 && status < 300) {
            const said = Either.getOrNull(Either.map(decodeVmAnswer(text), (vm) => clean(vm.status)))
            return { _tag: "Done", accepted: { status: said, attempts: attempt } }
          }
          if (isRedirect(status)) {
            const location = Option.getOrNull(Headers.get(response.headers, "location"))
            return {
              _tag: "Failed",
              failure: new ActionFailure({ reason: "client", status, message: message(redirectMessage(status, url, location)), attempts: attempt })
            }
          }
          const said = Option.match(apiErrorText(text), { onNone: () => "", onSome: (t) => `: ${t}` })
          const failure = new ActionFailure({ reason: reasonOf(status), status, message: message(`HTTP ${status}${said}`), attempts: attempt })
          if (status === 409 && isBusyConflict(text)) {
            return { _tag: "Again", wait: Duration.times(retry.conflictDelay, 2 ** (attempt - 1)), failure }
          }
          if (honoursRetryAfter(status)) {
            const wait = Headers.get(response.headers, "retry-after").pipe(
              Option.flatMap((value) => parseRetryAfter(value, Date.now())),
              Option.getOrNull
            )
            if (wait !== null && Duration.lessThanOrEqualTo(wait, retry.maxRetryAfter)) return { _tag: "Again", wait, failure }
          }
          return { _tag: "Failed", failure }
        })
      )

    const act = (action: ActionKind, vmUuid: string, options: ActOptions = {}): Effect.Effect<ActionAccepted, ActionFailure> => {
      const id = cvmIdOf(vmUuid)
      if (id === null) {
        return Effect.fail(new ActionFailure({ reason: "invalid_id", status: null, message: "not a vm_uuid", attempts: 0 }))
      }
      const url = `${baseUrl}/cvms/${id}/${action}`
      const loop = (attempt: number): Effect.Effect<ActionAccepted, ActionFailure> =>
        Effect.flatMap(once(url, attempt), (step) => {
          switch (step._tag) {
            case "Done":
              return Effect.succeed(step.accepted)
            case "Failed":
              return Effect.fail(step.failure)
            case "Again":
              if (attempt >= retry.attempts) return Effect.fail(step.failure)
              return Effect.logInfo("CVM action answered \"not now\", trying again").pipe(
                Effect.annotateLogs({ action, vm_uuid: vmUuid, status: step.failure.status ?? 0, wait_ms: Duration.toMillis(step.wait) }),
                Effect.zipRight(Effect.sleep(step.wait)),
                Effect.zipRight(options.stillWanted ?? Effect.succeed(true)),
                Effect.flatMap((wanted) =>
                  wanted ? loop(attempt + 1) : Effect.fail(
                    new ActionFailure({
                      reason: "superseded",
                      status: step.failure.status,
                      message: `${step.failure.message}; then the CVM changed, so the action was not sent again`,
                      attempts: attempt
                    })
                  )
                )
              )
          }
        })
      return loop(1).pipe(
        Effect.tap((accepted) =>
          Effect.logDebug("CVM action accepted").pipe(
            Effect.annotateLogs({ action, vm_uuid: vmUuid, status: accepted.status ?? "", attempts: accepted.attempts })
          )
        )
      )
    }

    return { act }
  })
