import { Context, Effect, Layer } from "effect"
import type { Alert } from "../Core/Domain/Alert.js"

/** One part of `state_dir` that cannot be written right now. */
export interface StateWriteProblem {
  /** `alert state`, `lock`, `outbox <receiver>`, `state_dir`. */
  readonly what: string
  readonly path: string
  readonly error: string
  /** Epoch ms of the first failure of this run of failures. */
  readonly since: number
  /** Epoch ms of the latest failure. */
  readonly at: number
}

/** What the status page shows about `state_dir`. */
export interface StateDirHealth {
  readonly stateDir: string
  /** Failed write attempts since start (`phala_drift_state_write_failures_total`). */
  readonly writeFailures: number
  /** Parts failing now; empty when every write works. */
  readonly failing: ReadonlyArray<StateWriteProblem>
  readonly lastFailure: StateWriteProblem | null
  /** Notifications held in memory only (lost if the process stops before the disk works again). */
  readonly unsavedNotifications: number
}

/** Read side of alerting for HTTP handlers: the alerts that are pending or firing now. */
export class AlertsView extends Context.Tag("phala-drift/AlertsView")<AlertsView, {
  /** False while the config has no `alerting:` block (a reload may change it). */
  readonly enabled: Effect.Effect<boolean>
  readonly active: Effect.Effect<ReadonlyArray<Alert>>
  /** Write failures in state_dir and notifications held in memory because of them. */
  readonly stateDir: Effect.Effect<StateDirHealth>
}>() {
  static readonly Disabled = Layer.succeed(AlertsView, {
    enabled: Effect.succeed(false),
    active: Effect.succeed([]),
    stateDir: Effect.succeed({ stateDir: "", writeFailures: 0, failing: [], lastFailure: null, unsavedNotifications: 0 })
  })
}
