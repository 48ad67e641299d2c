import { FetchHttpClient } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Clock, Effect, Layer } from "effect"
import { Alerting, AlertsViewLive } from "../Alerts/Alerting.js"
import type { DaemonConfig } from "../Core/Domain/App.js"
import { httpServerLayer } from "../Http/Server.js"
import { Metrics } from "../Metrics/Metrics.js"
import { type ConfigPatch, ConfigStore } from "./ConfigStore.js"
import { Cycle } from "./Cycle.js"
import { DaemonState } from "../Runtime/LatestSnapshot.js"
import { ReloadTriggersLayer } from "./ReloadTriggers.js"
import { CycleRunner, SchedulerLayer } from "./Scheduler.js"

const ConfigLoadedLayer = Layer.effectDiscard(
  Effect.gen(function*() {
    const metrics = yield* Metrics
    yield* metrics.configLoaded(true, new Date(yield* Clock.currentTimeMillis))
    yield* metrics.refresh
  })
)

export interface DaemonOptions {
  /** The config loaded at start-up, with CLI flags applied. */
  readonly config: DaemonConfig
  /** Environment used for `${VAR}` interpolation on reloads. */
  readonly env: Record<string, string | undefined>
  /** Re-applies CLI flags to a reloaded config. */
  readonly patch: ConfigPatch
}

/** Every long-running part of `serve`. */
export const daemonLayer = ({ config, env, patch }: DaemonOptions) => {
  const platform = Layer.mergeAll(Metrics.Default, DaemonState.Default, FetchHttpClient.layer, NodeFileSystem.layer)
  const services = CycleRunner.Default.pipe(
    Layer.provideMerge(Cycle.Default),
    Layer.provideMerge(AlertsViewLive),
    Layer.provideMerge(Alerting.Default),
    Layer.provideMerge(ConfigStore.layer({ initial: config, env, patch })),
    Layer.provideMerge(platform)
  )
  const { host, port, tls } = config.server
  return Layer.mergeAll(SchedulerLayer, ReloadTriggersLayer, httpServerLayer({ host, port, tls }), ConfigLoadedLayer).pipe(
    Layer.provide(services)
  )
}
