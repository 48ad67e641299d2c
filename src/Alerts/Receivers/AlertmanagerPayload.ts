import { Duration } from "effect"
import type { Alert } from "../../Core/Domain/Alert.js"

/** One element of the `POST /api/v2/alerts` body (Alertmanager OpenAPI `postableAlert`). */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>
  readonly annotations: Readonly<Record<string, string>>
  readonly startsAt: string
  readonly endsAt: string
  readonly generatorURL?: string
}

export interface AlertmanagerPayloadOptions {
  /** Epoch ms of this send. */
  readonly now: number
  readonly pollInterval: Duration.Duration
  readonly resendInterval: Duration.Duration
  /** Used as generatorURL when the alert has no `plan_url` annotation. */
  readonly externalUrl: string | null
}

export const isoTime = (epochMillis: number): string => new Date(epochMillis).toISOString()

/**
 * How long Alertmanager should consider a firing alert active without hearing from us again. Like Prometheus:
 * four times the larger of the evaluation and resend intervals, so two missed sends do not resolve it.
 */
export const leaseDuration = (pollInterval: Duration.Duration, resendInterval: Duration.Duration): Duration.Duration =>
  Duration.times(Duration.max(pollInterval, resendInterval), 4)

export const startedAt = (alert: Alert): number => alert.firedAt ?? alert.activeAt

export const generatorUrlOf = (alert: Alert, externalUrl: string | null): string | null =>
  alert.annotations["plan_url"] ?? externalUrl

/** The label set Alertmanager identifies the alert by; `alertname` is always present. */
export const alertLabels = (alert: Alert): Readonly<Record<string, string>> => ({
  ...alert.labels,
  alertname: alert.labels["alertname"] ?? alert.name
})

/** Firing and resolved alerts as Alertmanager v2 wants them; pending alerts are never sent. */
export const alertmanagerPayload = (
  alerts: Iterable<Alert>,
  options: AlertmanagerPayloadOptions
): ReadonlyArray<PostableAlert> => {
  const lease = Duration.toMillis(leaseDuration(options.pollInterval, options.resendInterval))
  const payload: Array<PostableAlert> = []
  for (const alert of alerts) {
    if (alert.state === "pending") continue
    const endsAt = alert.state === "firing" ? options.now + lease : (alert.resolvedAt ?? options.now)
    const generatorURL = generatorUrlOf(alert, options.externalUrl)
    payload.push({
      labels: alertLabels(alert),
      annotations: alert.annotations,
      startsAt: isoTime(startedAt(alert)),
      endsAt: isoTime(endsAt),
      ...(generatorURL === null ? {} : { generatorURL })
    })
  }
  return payload
}
