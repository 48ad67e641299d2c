import { Context, Effect, Layer } from "effect"
import type { Alert } from "../Domain/Alert.js"

/** Read side of alerting for HTTP handlers: the alerts that are pending or firing now. */
export class AlertsView extends Context.Tag("phala-drift/AlertsView")<AlertsView, {
  /** False when the config has no `alerting:` block. */
  readonly enabled: boolean
  readonly active: Effect.Effect<ReadonlyArray<Alert>>
}>() {
  static readonly Disabled = Layer.succeed(AlertsView, { enabled: false, active: Effect.succeed([]) })
}
