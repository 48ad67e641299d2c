import type * as HttpClient from "@effect/platform/HttpClient"
import { type Duration, Effect, Either } from "effect"
import type { Alert, ReceiverSettings } from "../../Core/Domain/Alert.js"
import { userAgent } from "../../Support/Version.js"
import { alertmanagerPayload } from "./AlertmanagerPayload.js"
import { alertsDue, type LastSent, recordSent } from "../../Core/Alerting/Resend.js"
import { postJson, type RetrySettings } from "./HttpSend.js"
import type { ReceiverError } from "./ReceiverError.js"

export type AlertmanagerSettings = Extract<ReceiverSettings, { readonly _tag: "Alertmanager" }>

export interface InstanceResult {
  readonly url: string
  readonly error: ReceiverError | null
}

export interface AlertmanagerSendOptions {
  readonly now: number
  readonly pollInterval: Duration.Duration
  readonly resendInterval: Duration.Duration
  readonly externalUrl: string | null
  readonly retry?: RetrySettings
}

/** `http://am:9093` or `http://am:9093/` (or with a path prefix) → `.../api/v2/alerts`. */
export const alertsEndpoint = (baseUrl: string): string => `${baseUrl.replace(/\/+$/, "")}/api/v2/alerts`

/**
 * Posts the alerts to every Alertmanager instance of the receiver, concurrently and independently (HA peers
 * de-duplicate among themselves; one instance down must not hold back the others). Never fails: the result
 * says which instances took it.
 */
export const postToAlertmanagers = (
  settings: AlertmanagerSettings,
  alerts: ReadonlyArray<Alert>,
  options: AlertmanagerSendOptions
): Effect.Effect<ReadonlyArray<InstanceResult>, never, HttpClient.HttpClient> => {
  const body = JSON.stringify(alertmanagerPayload(alerts, options))
  return Effect.forEach(
    settings.urls,
    (url) =>
      postJson({
        receiver: settings.name,
        url: alertsEndpoint(url),
        headers: { "Content-Type": "application/json", "User-Agent": userAgent },
        body,
        timeout: settings.timeout,
        ...(options.retry === undefined ? {} : { retry: options.retry })
      }).pipe(
        Effect.either,
        Effect.map((outcome): InstanceResult => ({ url, error: Either.isLeft(outcome) ? outcome.left : null })),
        Effect.tap(({ error }) =>
          error === null ? Effect.void : Effect.logWarning("Alertmanager instance did not accept alerts").pipe(
            Effect.annotateLogs({ receiver: settings.name, instance: url, error: error.message })
          )
        )
      ),
    { concurrency: "unbounded" }
  )
}

export interface AlertmanagerRound {
  readonly sent: ReadonlyArray<Alert>
  readonly results: ReadonlyArray<InstanceResult>
  /** The new last-sent times of this receiver, to keep and persist. */
  readonly lastSent: LastSent
}

/**
 * One resend round for one Alertmanager receiver: picks what is due (`alertsDue`), posts it to every instance,
 * and records the send when at least one instance accepted it; when none did, nothing is recorded, so the next
 * round tries again instead of waiting a resend interval.
 */
export const alertmanagerRound = (
  settings: AlertmanagerSettings,
  alerts: ReadonlyMap<string, Alert>,
  lastSent: LastSent,
  options: AlertmanagerSendOptions
): Effect.Effect<AlertmanagerRound, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const due = alertsDue(alerts.values(), lastSent, { now: options.now, resendInterval: options.resendInterval })
    if (due.length === 0 || settings.urls.length === 0) {
      return { sent: [], results: [], lastSent: recordSent(lastSent, [], alerts, options.now) }
    }
    const results = yield* postToAlertmanagers(settings, due, options)
    const accepted = results.some((result) => result.error === null)
    return {
      sent: accepted ? due : [],
      results,
      lastSent: recordSent(lastSent, accepted ? due : [], alerts, options.now)
    }
  }).pipe(Effect.withSpan("Alertmanager.round", { attributes: { receiver: settings.name } }))
