import { createHash } from "node:crypto"
import type { AlertEvent } from "../../Core/Domain/Alert.js"
import { alertLabels, generatorUrlOf, isoTime, startedAt } from "./AlertmanagerPayload.js"

/** Alertmanager writes the zero time for a firing alert's end in webhook payloads. */
export const zeroTime = "0001-01-01T00:00:00Z"

export interface WebhookAlert {
  readonly status: "firing" | "resolved"
  readonly labels: Readonly<Record<string, string>>
  readonly annotations: Readonly<Record<string, string>>
  readonly startsAt: string
  readonly endsAt: string
  readonly generatorURL: string
  readonly fingerprint: string
}

/** The Alertmanager webhook payload (version 4), one alert per notification. */
export interface WebhookPayload {
  readonly version: "4"
  readonly groupKey: string
  readonly truncatedAlerts: 0
  readonly status: "firing" | "resolved"
  readonly receiver: string
  readonly groupLabels: Readonly<Record<string, string>>
  readonly commonLabels: Readonly<Record<string, string>>
  readonly commonAnnotations: Readonly<Record<string, string>>
  readonly externalURL: string
  readonly alerts: ReadonlyArray<WebhookAlert>
}

/** What the identity of a state change is made of; the rest of the event (its time, the alert's text) is not. */
export interface EventIdentity {
  readonly kind: AlertEvent["kind"]
  readonly alert: Pick<AlertEvent["alert"], "fingerprint" | "activeAt">
  readonly at?: number
}

/**
 * Stable identity of one state change: the alert (fingerprint), the kind of change and the episode it belongs to
 * (`activeAt`, when the condition was first seen; the alert state and the announced-alerts ledger keep it). So it
 * is the same after a restart, a redelivery or a late announcement (maintenance), and different for the next
 * change of the same alert. Receivers de-duplicate on it (`X-Phala-Drift-Event-Id`).
 */
export const eventId = (event: EventIdentity): string =>
  createHash("sha256").update(`${event.alert.fingerprint}\n${event.kind}\n${event.alert.activeAt}`).digest("hex")
    .slice(0, 32)

const sortedEntries = (record: Readonly<Record<string, string>>): ReadonlyArray<readonly [string, string]> =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** Alertmanager's `{route}:{labels}` shape; there is no route tree here, so the route part is `{}`. */
export const groupKeyOf = (labels: Readonly<Record<string, string>>): string =>
  `{}:{${sortedEntries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(", ")}}`

export interface WebhookPayloadOptions {
  readonly receiver: string
  readonly externalUrl: string | null
}

export const webhookPayload = (event: AlertEvent, options: WebhookPayloadOptions): WebhookPayload => {
  const { alert } = event
  const labels = alertLabels(alert)
  const groupLabels = { alertname: labels["alertname"] ?? alert.name, ...pick(labels, ["app_id", "vm_uuid"]) }
  return {
    version: "4",
    groupKey: groupKeyOf(groupLabels),
    truncatedAlerts: 0,
    status: event.kind,
    receiver: options.receiver,
    groupLabels,
    commonLabels: labels,
    commonAnnotations: alert.annotations,
    externalURL: options.externalUrl ?? "",
    alerts: [{
      status: event.kind,
      labels,
      annotations: alert.annotations,
      startsAt: isoTime(startedAt(alert)),
      endsAt: event.kind === "firing" ? zeroTime : isoTime(alert.resolvedAt ?? event.at),
      generatorURL: generatorUrlOf(alert, options.externalUrl) ?? "",
      fingerprint: alert.fingerprint
    }]
  }
}

const pick = (record: Readonly<Record<string, string>>, keys: ReadonlyArray<string>): Record<string, string> => {
  const picked: Record<string, string> = {}
  for (const key of keys) {
    const value = record[key]
    if (value !== undefined) picked[key] = value
  }
  return picked
}
