/**
 * The daemon's real HTTP server (its routes, auth and limits) on loopback, over the runtime floor's services with
 * nothing behind them: a fixed config, the latest snapshot (empty until the test publishes one), the metrics, no
 * alerting, and a cycle trigger whose cycle is `cycle`.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Duration, Effect, Layer, Redacted, Ref, type Scope } from "effect"
import { AppRefresh } from "../../src/Daemon/AppRefresh.js"
import { WebhookInboxLive, Webhooks } from "../../src/Daemon/Webhooks.js"
import type { DaemonConfig } from "../../src/Core/Domain/App.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { RemediationView } from "../../src/Runtime/RemediationView.js"
import { httpServerLayer } from "../../src/Http/Server.js"
import { Metrics, MetricsViewLive } from "../../src/Metrics/Metrics.js"
import { AlertsView } from "../../src/Runtime/AlertsView.js"
import { ConfigStore } from "../../src/Runtime/ConfigStore.js"
import { CycleTrigger } from "../../src/Runtime/CycleTrigger.js"
import { Events } from "../../src/Runtime/Events.js"
import { LatestSnapshot } from "../../src/Runtime/LatestSnapshot.js"
import { freePort } from "../e2e/support/harness.js"
import { desiredApp } from "./builders.js"

export const routesConfig = (port: number, server: Partial<DaemonConfig["server"]> = {}, appIds: ReadonlyArray<string> = []): DaemonConfig => ({
  source: "routes-test.yaml",
  api: { url: "http://127.0.0.1:1/api/v1", apiKey: Redacted.make("unused"), apiVersion: "2025-10-28", timeout: Duration.seconds(1), retries: 0, concurrency: 1 },
  poll: { _tag: "Interval", interval: Duration.minutes(1) },
  server: { host: "127.0.0.1", port, lifecycle: false, auth: null, tls: null, phalaWebhook: null, ...server },
  stateDir: "./data",
  apps: appIds.map((appId) => desiredApp({ appId })),
  alerting: null
})

export interface ServedRoutes {
  /** `http://127.0.0.1:<port>` */
  readonly base: string
  readonly port: number
  /** Makes a snapshot the latest, as a cycle would. */
  readonly publish: (snapshot: Snapshot) => Effect.Effect<void>
  /** The apps the webhook route asked to re-read, in order (no reads happen here). */
  readonly refreshRequests: Effect.Effect<ReadonlyArray<string>>
}

const emptySnapshot: Effect.Effect<Snapshot> = Effect.sync(() => ({ generatedAt: new Date(), apps: [] }))

/** Serves the routes until the scope closes. */
export const serveRoutes = (
  server: Partial<DaemonConfig["server"]> = {},
  cycle: Effect.Effect<Snapshot> = emptySnapshot,
  appIds: ReadonlyArray<string> = []
): Effect.Effect<ServedRoutes, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const port = yield* Effect.promise(() => freePort())
    const config = routesConfig(port, server, appIds)
    const trigger = Layer.scoped(CycleTrigger, CycleTrigger.make(cycle))
    const requested = yield* Ref.make<ReadonlyArray<string>>([])
    const refresh = Layer.succeed(AppRefresh, AppRefresh.make({ request: (appId) => Ref.update(requested, (all) => [...all, appId]) }))
    const webhooks = WebhookInboxLive.pipe(Layer.provide(Webhooks.DefaultWithoutDependencies), Layer.provide(Layer.merge(refresh, ConfigStore.fixed(config))))
    const services = Layer.mergeAll(ConfigStore.fixed(config), LatestSnapshot.Default, MetricsViewLive, AlertsView.Disabled, RemediationView.Default, trigger, webhooks).pipe(
      Layer.provideMerge(Layer.mergeAll(Metrics.Default, Events.Default))
    )
    const context = yield* Layer.build(httpServerLayer({ host: config.server.host, port }, null).pipe(Layer.provideMerge(services)))
    const latest = yield* Effect.provide(LatestSnapshot, context)
    return { base: `http://127.0.0.1:${port}`, port, publish: latest.publish, refreshRequests: Ref.get(requested) }
  }).pipe(Effect.provide(NodeFileSystem.layer))
