import { type Duration, type Redacted, Schema } from "effect"

export const alertNames = [
  "PhalaAppMissing",
  "PhalaAppReplicasMismatch",
  "PhalaCvmStatusDrift",
  "PhalaCvmAttributeDrift",
  "PhalaAppUnobservable",
  "PhalaRemediationFailed",
  "PhalaAppUnmanaged"
] as const
export type AlertName = (typeof alertNames)[number]

const EpochMillis = Schema.Number.pipe(Schema.finite())
const StringMap = Schema.Record({ key: Schema.String, value: Schema.String })

/** What every alert carries, whatever its state. Times are epoch ms. */
const alertFields = {
  /** Stable identity: a hash of the sorted label set. */
  fingerprint: Schema.String,
  name: Schema.Literal(...alertNames),
  /** alertname, severity, app_id, app_name, the app's labels, and vm_uuid/cvm_name on CVM alerts. */
  labels: StringMap,
  /** summary, description (desired vs actual), plan_url. */
  annotations: StringMap,
  /** When the condition was first seen true in this episode (pending start). */
  activeAt: EpochMillis,
  /** The last evaluation that saw the condition true (drives keep_firing_for). */
  lastActiveAt: EpochMillis,
  /** The app was inside a maintenance window at the last evaluation: no new firing is announced. */
  silenced: Schema.Boolean
}

/*
 * The states, each with exactly the facts it can have, so that an impossible alert (resolved without a time, pending
 * yet announced) can be neither built nor read back from disk. `firedAt` and `resolvedAt` are written as null where
 * they do not apply, so the files keep the shape older versions wrote and read.
 */

/** The condition holds, not yet for the app's `for`; receivers know nothing of it. */
export const PendingAlert = Schema.Struct({
  ...alertFields,
  state: Schema.Literal("pending"),
  firedAt: Schema.Null,
  resolvedAt: Schema.Null,
  announced: Schema.Literal(false)
})

/**
 * Firing since `firedAt`. `announced`: a `firing` event was emitted for this episode, so receivers know about it
 * (false while a maintenance window holds it back); only announced alerts are (re)sent, and only their resolution.
 */
export const FiringAlert = Schema.Struct({
  ...alertFields,
  state: Schema.Literal("firing"),
  firedAt: EpochMillis,
  resolvedAt: Schema.Null,
  announced: Schema.Boolean
})

/** Resolved at `resolvedAt`; kept only while its resolution is still being (re)sent. */
export const ResolvedAlert = Schema.Struct({
  ...alertFields,
  state: Schema.Literal("resolved"),
  firedAt: EpochMillis,
  resolvedAt: EpochMillis,
  announced: Schema.Boolean
})

/** Inactive alerts are absent. The same schema reads and writes the alert state and the outbox. */
export const Alert = Schema.Union(PendingAlert, FiringAlert, ResolvedAlert)
export type Alert = typeof Alert.Type
export type PendingAlert = typeof PendingAlert.Type
export type FiringAlert = typeof FiringAlert.Type
export type ResolvedAlert = typeof ResolvedAlert.Type
export type AlertState = Alert["state"]

/** A state change that receivers are told about, in order, exactly once each; `at` is epoch ms of the transition. */
export const AlertEvent = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("firing"), alert: FiringAlert, at: EpochMillis }),
  Schema.Struct({ kind: Schema.Literal("resolved"), alert: ResolvedAlert, at: EpochMillis })
)
export type AlertEvent = typeof AlertEvent.Type

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
