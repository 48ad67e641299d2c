import { Context, Effect, Layer } from "effect"
import type { Alert } from "../Domain/Alert.js"

/** Read side of alerting for HTTP handlers: the alerts that are pending or firing now. */
export class AlertsView extends Context.Tag("phala-drift/AlertsView")<AlertsView, {
  /** False while the config has no `alerting:` block (a reload may change it). */
  readonly enabled: Effect.Effect<boolean>
  readonly active: Effect.Effect<ReadonlyArray<Alert>>
}>() {
  static readonly Disabled = Layer.succeed(AlertsView, { enabled: Effect.succeed(false), active: Effect.succeed([]) })
}
