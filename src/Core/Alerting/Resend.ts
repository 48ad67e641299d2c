import { Duration } from "effect"
import type { Alert, AlertState } from "../Domain/Alert.js"
import { resolvedRetention } from "./Rules.js"

/** What one Alertmanager receiver was last told about an alert. */
export interface SentRecord {
  /** Epoch ms. */
  readonly at: number
  readonly state: AlertState
}

/** Per alert fingerprint. */
export type LastSent = ReadonlyMap<string, SentRecord>

export interface ResendOptions {
  readonly now: number
  readonly resendInterval: Duration.Duration
  readonly resolvedRetention?: Duration.Duration
}

/**
 * Which alerts to (re)send to Alertmanager now. A state change since the last send goes out at once, even for an
 * alert resolved long ago (the daemon may have been down); otherwise firing and recently resolved alerts are
 * repeated every `resendInterval`, so Alertmanager's lease never runs out and a lost resolution is repeated.
 * Pending alerts and alerts never announced (held back by a maintenance window) are not sent at all.
 */
export const alertsDue = (alerts: Iterable<Alert>, lastSent: LastSent, options: ResendOptions): ReadonlyArray<Alert> => {
  const resend = Duration.toMillis(options.resendInterval)
  const retention = Duration.toMillis(options.resolvedRetention ?? resolvedRetention)
  const due: Array<Alert> = []
  for (const alert of alerts) {
    if (alert.state === "pending" || !alert.announced) continue
    const sent = lastSent.get(alert.fingerprint)
    if (sent === undefined || sent.state !== alert.state) {
      due.push(alert)
      continue
    }
    if (options.now - sent.at < resend) continue
    if (alert.state === "resolved" && options.now - (alert.resolvedAt ?? sent.at) > retention) continue
    due.push(alert)
  }
  return due
}

/** `lastSent` after `sent` went out at `now`, without entries for alerts that no longer exist. */
export const recordSent = (
  lastSent: LastSent,
  sent: Iterable<Alert>,
  current: ReadonlyMap<string, Alert>,
  now: number
): LastSent => {
  const next = new Map<string, SentRecord>()
  for (const [fingerprint, record] of lastSent) {
    if (current.has(fingerprint)) next.set(fingerprint, record)
  }
  for (const alert of sent) next.set(alert.fingerprint, { at: now, state: alert.state })
  return next
}
