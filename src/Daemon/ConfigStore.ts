import { Context, Effect, Layer, Ref } from "effect"
import type { DaemonConfig } from "../Domain/App.js"

/** The configuration in force. Reloads replace it whole; readers take it once per cycle. */
export class ConfigStore extends Context.Tag("phala-drift/ConfigStore")<ConfigStore, {
  readonly current: Effect.Effect<DaemonConfig>
  readonly replace: (config: DaemonConfig) => Effect.Effect<void>
}>() {
  static readonly layer = (initial: DaemonConfig) =>
    Layer.effect(
      ConfigStore,
      Effect.map(Ref.make(initial), (ref) => ({ current: Ref.get(ref), replace: (config: DaemonConfig) => Ref.set(ref, config) }))
    )
}
