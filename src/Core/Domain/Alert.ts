import type { Duration, Redacted } from "effect"

export const alertNames = [
  "PhalaAppMissing",
  "PhalaAppReplicasMismatch",
  "PhalaCvmStatusDrift",
  "PhalaCvmAttributeDrift",
  "PhalaAppUnobservable"
] as const
export type AlertName = (typeof alertNames)[number]

/** Inactive alerts are absent; resolved ones are kept only while their resolution is still being (re)sent. */
export type AlertState = "pending" | "firing" | "resolved"

export interface Alert {
  /** Stable identity: a hash of the sorted label set. */
  readonly fingerprint: string
  readonly name: AlertName
  /** alertname, severity, app_id, app_name, the app's labels, and vm_uuid/cvm_name on CVM alerts. */
  readonly labels: Readonly<Record<string, string>>
  /** summary, description (desired vs actual), plan_url. */
  readonly annotations: Readonly<Record<string, string>>
  readonly state: AlertState
  /** Epoch ms: when the condition was first seen true in this episode (pending start). */
  readonly activeAt: number
  /** Epoch ms when it went to firing, else null. */
  readonly firedAt: number | null
  /** Epoch ms of the last evaluation that saw the condition true (drives keep_firing_for). */
  readonly lastActiveAt: number
  /** Epoch ms when it resolved, else null. */
  readonly resolvedAt: number | null
  /** The app was inside a maintenance window at the last evaluation: no new firing is announced. */
  readonly silenced: boolean
  /**
   * A `firing` event was emitted for this episode, so receivers know about it: only announced alerts are (re)sent,
   * and only their resolution is sent.
   */
  readonly announced: boolean
}

/** A state change that receivers are told about, in order, exactly once each. */
export interface AlertEvent {
  readonly kind: "firing" | "resolved"
  readonly alert: Alert
  /** Epoch ms of the transition. */
  readonly at: number
}

export interface MaintenanceWindow {
  readonly start: Date
  readonly end: Date
}

export type ReceiverSettings =
  | {
    readonly _tag: "Alertmanager"
    readonly name: string
    readonly urls: ReadonlyArray<string>
    readonly timeout: Duration.Duration
  }
  | {
    readonly _tag: "Webhook"
    readonly name: string
    readonly url: Redacted.Redacted<string>
    readonly bearerToken: Redacted.Redacted<string> | null
    readonly hmacSecret: Redacted.Redacted<string> | null
    readonly timeout: Duration.Duration
  }
  | {
    readonly _tag: "Slack"
    readonly name: string
    readonly webhookUrl: Redacted.Redacted<string>
    readonly timeout: Duration.Duration
  }

export interface AlertRoute {
  /** Every label here must equal the alert's label for the route to match. */
  readonly match: Readonly<Record<string, string>>
  readonly receivers: ReadonlyArray<string>
}

export interface AlertingSettings {
  readonly resendInterval: Duration.Duration
  readonly receivers: ReadonlyArray<ReceiverSettings>
  readonly defaultReceivers: ReadonlyArray<string>
  /** First matching route wins; no match → defaultReceivers. */
  readonly routes: ReadonlyArray<AlertRoute>
  /** Base URL of this daemon as users reach it, for generatorURL and plan links (e.g. http://phala-drift:9477). */
  readonly externalUrl: string | null
}
