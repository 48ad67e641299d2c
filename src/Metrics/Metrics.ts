import { Clock, Effect, Layer, Ref } from "effect"
import * as Prom from "prom-client"
import { promisify } from "node:util"
import { gzip } from "node:zlib"
import { isKnownStatus, knownStatuses } from "../Core/Domain/CvmStatus.js"
import { fetchFailureReasons } from "../Core/Domain/Observation.js"
import type { AppReport, Snapshot } from "../Core/Domain/Report.js"
import { appDriftKinds, syncStates } from "../Core/Domain/Report.js"
import { type DaemonEvent, Events } from "../Runtime/Events.js"
import { type Exposition, MetricsView } from "../Runtime/MetricsView.js"
import { version } from "../Support/Version.js"
import { cvmDriftKinds, cvmDriftMasks } from "./AppSeries.js"
import { prefixedLabelNames } from "./TextFormat.js"

const gzipAsync = promisify(gzip)

/** A cycle's start (epoch ms) and how long its phases took (ms), for the poll duration metrics. */
export interface CycleStats {
  readonly startedAt: number
  readonly phases: { readonly observe: number; readonly alerts: number }
}

const appLabels = ["app_id", "app_name"] as const
const cvmLabels = ["app_id", "app_name", "vm_uuid", "cvm_name"] as const

const statusLabel = (status: string): string => (isKnownStatus(status) ? status : "other")

const pollBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

const makeRegistry = () => {
  const registry = new Prom.Registry()
  const registers = [registry]
  const gauge = <L extends string>(name: string, help: string, labelNames: ReadonlyArray<L>) =>
    new Prom.Gauge<L>({ name, help, labelNames, registers })
  const m = {
    appUp: gauge("phala_app_up", "1 if the last fetch of the app from the Phala Cloud API succeeded (a 404 counts as success), else 0.", appLabels),
    appSync: gauge("phala_app_sync_status", "Sync state of the app, one series per state (in_sync, out_of_sync, unknown), value 1 for the current state.", [...appLabels, "status"]),
    appDrift: gauge("phala_app_drift", "1 if the app shows drift of this kind (missing_app, replicas, status, attribute). Keeps its last observed value while the app is unknown.", [...appLabels, "kind"]),
    appReplicas: gauge("phala_app_replicas", "Observed number of CVMs of the app (last observed value while the app is unknown).", appLabels),
    appReplicasMin: gauge("phala_app_replicas_desired_min", "Declared minimum number of CVMs.", appLabels),
    appReplicasMax: gauge("phala_app_replicas_desired_max", "Declared maximum number of CVMs (+Inf when unbounded).", appLabels),
    appLastSuccess: gauge("phala_app_last_success_timestamp_seconds", "Unix time of the last successful fetch of the app.", appLabels),
    appFetchFailure: gauge("phala_app_fetch_failure", `1 while the app cannot be observed, labelled with the closed-set reason (${fetchFailureReasons.join(", ")}).`, [...appLabels, "reason"]),
    cvmStatus: gauge("phala_cvm_status", "Status of the CVM, one series per known status plus other, value 1 for the current one.", [...cvmLabels, "status"]),
    cvmHealth: gauge("phala_cvm_health", "Health of the CVM against its desired status, one series per state (healthy, progressing, degraded, unknown).", [...cvmLabels, "health"]),
    cvmInfo: gauge("phala_cvm_info", "Attributes of the CVM as labels; value always 1.", [...cvmLabels, "instance_type", "region", "base_image", "kms_type", "node"]),
    cvmDrift: gauge("phala_cvm_drift", "1 if the CVM shows drift of this kind (status, attribute), one series per kind. Keeps its last observed value while the app is unknown.", [...cvmLabels, "kind"]),
    appInfo: gauge("phala_app_info", "Declared settings of the app as labels (severity from the desired state); value always 1.", [...appLabels, "severity"]),
    buildInfo: gauge("phala_drift_build_info", "Build information of the daemon; value always 1.", ["version"]),
    lastPollSuccess: gauge("phala_drift_last_poll_success_timestamp_seconds", "Unix time at which the last reconcile cycle finished.", []),
    configReloadOk: gauge("phala_drift_config_last_reload_successful", "1 if the last configuration load or reload succeeded, else 0.", []),
    configReloadTime: gauge("phala_drift_config_last_reload_success_timestamp_seconds", "Unix time of the last successful configuration load.", []),
    apps: gauge("phala_drift_apps", "Number of apps declared in the desired state handled by this process.", []),
    pollDuration: new Prom.Histogram({
      name: "phala_drift_poll_duration_seconds",
      help: "Duration of reconcile cycles, from their start to the rendering of their metrics: fetch and diff every app, evaluate alerts and queue notifications, update the series.",
      buckets: pollBuckets,
      registers
    }),
    pollPhaseDuration: new Prom.Histogram({
      name: "phala_drift_poll_phase_duration_seconds",
      help: "Duration of the phases of reconcile cycles: observe (fetch and diff every app), alerts (evaluate, queue notifications, save alert state).",
      labelNames: ["phase"],
      buckets: pollBuckets,
      registers
    }),
    apiRequests: new Prom.Counter({
      name: "phala_drift_api_requests_total",
      help: "HTTP attempts against the Phala Cloud API by status code (timeout and network for attempts without a response).",
      labelNames: ["code"],
      registers
    }),
    apiDuration: new Prom.Histogram({
      name: "phala_drift_api_request_duration_seconds",
      help: "Duration of single HTTP attempts against the Phala Cloud API.",
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers
    }),
    alerts: gauge("phala_drift_alerts", "Alerts of the built-in engine by name and state (pending, firing).", ["alertname", "state"]),
    notifications: new Prom.Counter({
      name: "phala_drift_notifications_total",
      help: "Notification attempts per receiver by result (success, failure: will be retried, dropped: given up).",
      labelNames: ["receiver", "result"],
      registers
    }),
    queueLength: gauge("phala_drift_notification_queue_length", "Notifications waiting in the durable outbox of a receiver.", ["receiver"]),
    stateWriteFailures: new Prom.Counter({
      name: "phala_drift_state_write_failures_total",
      help: "Failed attempts to write to state_dir (notification outbox, alert state, the lock); notifications are kept in memory and retried meanwhile.",
      registers
    }),
    webhookEvents: new Prom.Counter({
      name: "phala_drift_webhook_events_total",
      help: "Phala Cloud webhook requests by event (cvm.* lifecycle events, other, unparsed) and result (accepted, duplicate, bad_signature, stale, ignored, invalid, too_large).",
      labelNames: ["event", "result"],
      registers
    }),
    webhookLatency: new Prom.Histogram({
      name: "phala_drift_webhook_publish_latency_seconds",
      help: "From the arrival of a Phala Cloud webhook event to the publish of its app's re-read (metrics, alerts, plan, page); coalesced events count once, from the earliest.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers
    }),
    skippedTicks: new Prom.Counter({
      name: "phala_drift_poll_ticks_skipped_total",
      help: "Scheduled ticks skipped because the previous cycle was still running.",
      registers
    })
  }
  m.buildInfo.set({ version }, 1)
  Prom.collectDefaultMetrics({ register: registry })
  // gauges named *_total break the naming rules `promtool check metrics` enforces; the per-type series stay
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(name)
  }
  return { registry, m }
}

const appLabelsName = "phala_app_labels"
const appLabelsHelp = "The app's labels from the desired state as label_<name> labels (kube-state-metrics *_labels style); value always 1."

/**
 * `phala_app_labels`: prom-client fixes a gauge's label names when it is made, while these come from the config, so
 * the gauge is made again whenever the set of names in use changes (a reload); each series sets only its own.
 */
const appLabelsGauge = (registry: Prom.Registry) => {
  let names = ""
  let gauge: Prom.Gauge<string> | null = null
  return (apps: ReadonlyArray<AppReport>) => {
    const rows = apps.map((app) => ({ app, pairs: prefixedLabelNames("label_", app.desired.labels) }))
    const all = [...new Set(rows.flatMap((r) => r.pairs.map(([name]) => name)))].sort()
    if (gauge === null || all.join(",") !== names) {
      if (gauge !== null) registry.removeSingleMetric(appLabelsName)
      names = all.join(",")
      gauge = new Prom.Gauge({ name: appLabelsName, help: appLabelsHelp, labelNames: [...appLabels, ...all], registers: [registry] })
    }
    gauge.reset()
    for (const { app, pairs } of rows) gauge.set({ app_id: app.appId, app_name: app.name, ...Object.fromEntries(pairs) }, 1)
  }
}

const oneHot = <S extends string>(states: ReadonlyArray<S>, current: S | null, set: (state: S, v: 0 | 1) => void) => {
  for (const state of states) set(state, state === current ? 1 : 0)
}

/**
 * Metrics around prom-client with a registry of its own. Object-state series are rebuilt from each snapshot, so
 * apps and CVMs that are gone disappear; while an app is unknown its drift, replica and CVM series keep their last
 * observed values (no phantom resolve on dashboards), and `phala_app_up` says the data is stale.
 */
export class Metrics extends Effect.Service<Metrics>()("phala-drift/Metrics", {
  scoped: Effect.gen(function*() {
    const { m, registry } = makeRegistry()
    const writeAppLabels = appLabelsGauge(registry)
    const lastKnown = new Map<string, AppReport>()
    const lastSuccess = new Map<string, number>()

    const render: Effect.Effect<Exposition> = Effect.promise(async () => {
      const text = await registry.metrics()
      return { text, gzip: await gzipAsync(text), contentType: registry.contentType }
    })
    const cache = yield* Ref.make<Exposition>(yield* render)

    const writeApp = (app: AppReport, nowSeconds: number) => {
      const labels = { app_id: app.appId, app_name: app.name }
      m.appUp.set(labels, app.sync === "unknown" ? 0 : 1)
      oneHot(syncStates, app.sync, (status, v) => m.appSync.set({ ...labels, status }, v))
      if (app.sync !== "unknown") {
        lastKnown.set(app.appId, app)
        lastSuccess.set(app.appId, nowSeconds)
      } else if (app.error !== null) {
        m.appFetchFailure.set({ ...labels, reason: app.error.reason }, 1)
      }
      const success = lastSuccess.get(app.appId)
      if (success !== undefined) m.appLastSuccess.set(labels, success)
      m.appReplicasMin.set(labels, app.desired.replicas.min)
      m.appReplicasMax.set(labels, app.desired.replicas.max ?? Number.POSITIVE_INFINITY)
      m.appInfo.set({ ...labels, severity: app.desired.severity }, 1)
      const known = lastKnown.get(app.appId)
      const kinds = new Set(known?.drifts.map((d) => d.kind) ?? [])
      for (const kind of appDriftKinds) m.appDrift.set({ ...labels, kind }, kinds.has(kind) ? 1 : 0)
      if (known === undefined) return
      if (known.observed !== null) m.appReplicas.set(labels, known.observed.replicas)
      const driftMasks = cvmDriftMasks(known)
      known.cvms.forEach((cvm, i) => {
        const cvmLabelValues = { ...labels, vm_uuid: cvm.vmUuid ?? "", cvm_name: cvm.name }
        const mask = driftMasks[i] ?? 0
        cvmDriftKinds.forEach((kind, bit) => m.cvmDrift.set({ ...cvmLabelValues, kind }, (mask >> bit) & 1))
        oneHot([...knownStatuses, "other"], statusLabel(cvm.status), (status, v) => m.cvmStatus.set({ ...cvmLabelValues, status }, v))
        oneHot(["healthy", "progressing", "degraded", "unknown"], cvm.health, (health, v) => m.cvmHealth.set({ ...cvmLabelValues, health }, v))
        m.cvmInfo.set({
          ...cvmLabelValues,
          instance_type: cvm.instanceType ?? "",
          region: cvm.region ?? "",
          base_image: cvm.baseImage ?? "",
          kms_type: cvm.kmsType ?? "",
          node: cvm.node ?? ""
        }, 1)
      })
    }

    const objectGauges = [m.appUp, m.appSync, m.appDrift, m.appReplicas, m.appReplicasMin, m.appReplicasMax, m.appLastSuccess, m.appFetchFailure, m.cvmStatus, m.cvmHealth, m.cvmInfo, m.cvmDrift, m.appInfo]

    /** The series of a new snapshot, rendered for scrapes; `stats` when it ends a cycle (not for one app's re-read). */
    const record = (snapshot: Snapshot, stats: CycleStats | null) =>
      Effect.gen(function*() {
        const nowSeconds = snapshot.generatedAt.getTime() / 1000
        const present = new Set(snapshot.apps.map((a) => a.appId))
        for (const id of [...lastKnown.keys()]) if (!present.has(id)) lastKnown.delete(id)
        for (const id of [...lastSuccess.keys()]) if (!present.has(id)) lastSuccess.delete(id)
        for (const g of objectGauges) g.reset()
        for (const app of snapshot.apps) writeApp(app, nowSeconds)
        writeAppLabels(snapshot.apps)
        m.apps.set(snapshot.apps.length)
        if (stats !== null) {
          const finishedAt = yield* Clock.currentTimeMillis
          m.pollDuration.observe((finishedAt - stats.startedAt) / 1000)
          m.pollPhaseDuration.observe({ phase: "observe" }, stats.phases.observe / 1000)
          m.pollPhaseDuration.observe({ phase: "alerts" }, stats.phases.alerts / 1000)
          m.lastPollSuccess.set(finishedAt / 1000)
        }
        yield* Ref.set(cache, yield* render)
      })

    /** Alert counts by name and state; every known name and state is emitted, 0 when none. */
    const alertStates = (counts: ReadonlyArray<{ readonly alertname: string; readonly state: string }>, names: ReadonlyArray<string>) => {
      m.alerts.reset()
      for (const alertname of names) for (const state of ["pending", "firing"]) m.alerts.set({ alertname, state }, 0)
      for (const { alertname, state } of counts) if (state !== "resolved") m.alerts.inc({ alertname, state })
    }

    const refresh = Effect.flatMap(render, (e) => Ref.set(cache, e))

    const onEvent = (event: DaemonEvent): Effect.Effect<void> => {
      switch (event._tag) {
        case "ApiAttempt":
          return Effect.sync(() => {
            m.apiRequests.inc({ code: event.code })
            m.apiDuration.observe(event.seconds)
          })
        case "ConfigLoaded":
          // shown at once, not at the next cycle: a rejected reload must alert even when cycles are far apart
          return Effect.zipRight(Effect.sync(() => {
            m.configReloadOk.set(event.success ? 1 : 0)
            if (event.success) m.configReloadTime.set(event.at / 1000)
          }), refresh)
        case "TickSkipped":
          return Effect.sync(() => m.skippedTicks.inc())
        case "NotificationAttempt":
          return Effect.sync(() => m.notifications.inc({ receiver: event.receiver, result: event.result }))
        case "StateWriteFailed":
          return Effect.sync(() => m.stateWriteFailures.inc())
        case "AlertsEvaluated":
          return Effect.sync(() => alertStates(event.alerts, event.names))
        case "WebhookReceived":
          return Effect.sync(() => m.webhookEvents.inc({ event: event.event, result: event.result }))
        case "WebhookPublished":
          return Effect.sync(() => m.webhookLatency.observe(event.seconds))
        case "QueueLengths":
          return Effect.sync(() => {
            for (const [receiver, length] of event.lengths) m.queueLength.set({ receiver }, length)
          })
      }
    }
    yield* (yield* Events).subscribe(onEvent)

    return {
      record,
      /** Re-render now, for changes between cycles that must show at once. */
      refresh,
      exposition: Ref.get(cache)
    } as const
  }),
  dependencies: [Events.Default]
}) {}

/** `GET /metrics` reads the exposition through the shared floor's view. */
export const MetricsViewLive = Layer.effect(MetricsView, Effect.map(Metrics, (metrics) => MetricsView.of({ exposition: metrics.exposition }))).pipe(
  Layer.provide(Metrics.Default)
)
