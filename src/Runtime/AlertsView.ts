import { Context, Effect, Layer } from "effect"
import type { Alert } from "../Core/Domain/Alert.js"
import type { StateDirHealth } from "../Alerts/StateHealth.js"

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
