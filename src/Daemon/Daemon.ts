import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Clock, Effect, Layer } from "effect"
import { AlertsViewLive } from "../Alerts/Alerting.js"
import { configStoreLive } from "../Config/ConfigStoreLive.js"
import type { DaemonConfig } from "../Core/Domain/App.js"
import { httpServerLayer } from "../Http/Server.js"
import { Metrics, MetricsViewLive } from "../Metrics/Metrics.js"
import type { ConfigPatch } from "../Runtime/ConfigStore.js"
import { CycleTrigger } from "../Runtime/CycleTrigger.js"
import { DaemonEvent, Events } from "../Runtime/Events.js"
import { LatestSnapshot } from "../Runtime/LatestSnapshot.js"
import { RemediationView } from "../Runtime/RemediationView.js"
import { Cycle } from "./Cycle.js"
import { ReloadTriggersLayer } from "./ReloadTriggers.js"
import { Webhooks, WebhookInboxLive } from "./Webhooks.js"
import { SchedulerLayer } from "./Scheduler.js"

export interface DaemonOptions {
  /** The config loaded at start-up, with CLI flags applied. */
  readonly config: DaemonConfig
  /** Environment used for `${VAR}` interpolation on reloads. */
  readonly env: Record<string, string | undefined>
  /** Re-applies CLI flags to a reloaded config. */
  readonly patch: ConfigPatch
}

/** Cycles start only here: the scheduler's ticks and `POST /-/reconcile` share it. */
export const CycleTriggerLive = Layer.scoped(CycleTrigger, Effect.flatMap(Cycle, (cycle) => CycleTrigger.make(cycle.run))).pipe(
  Layer.provide(Cycle.Default)
)

// the config loaded at start-up counts as a successful load, once Metrics listens
const StartupLayer = Layer.effectDiscard(Effect.gen(function*() {
  yield* Metrics
  yield* (yield* Events).publish(DaemonEvent.ConfigLoaded({ success: true, at: yield* Clock.currentTimeMillis }))
}))

/**
 * Every long-running part of `serve`, assembled here and only here. Each service names what it needs in its
 * `dependencies` (Events, LatestSnapshot, Metrics and Alerting are each built once, whoever asks); what remains
 * comes from below: the config store (from the options), HTTP client and file system.
 */
export const daemonLayer = ({ config, env, patch }: DaemonOptions) => {
  const { host, port, tls } = config.server
  const shared = Layer.mergeAll(
    CycleTriggerLive,
    WebhookInboxLive.pipe(Layer.provide(Webhooks.Default)),
    AlertsViewLive,
    MetricsViewLive,
    LatestSnapshot.Default,
    RemediationView.Default,
    Metrics.Default,
    Events.Default
  )
  return Layer.mergeAll(SchedulerLayer, ReloadTriggersLayer, httpServerLayer({ host, port }, tls), StartupLayer).pipe(
    Layer.provide(shared),
    Layer.provideMerge(configStoreLive({ initial: config, env, patch })),
    Layer.provide(Layer.mergeAll(Events.Default, FetchHttpClient.layer, NodeFileSystem.layer))
  )
}
