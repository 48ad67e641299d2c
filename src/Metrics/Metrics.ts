import { Clock, Effect, Layer } from "effect"
import * as Prom from "prom-client"
import { countedResults } from "../Core/Domain/ActionRecord.js"
import type { AppReport, Snapshot } from "../Core/Domain/Report.js"
import { type DaemonEvent, Events } from "../Runtime/Events.js"
import { MetricsView, type ScrapeBody } from "../Runtime/MetricsView.js"
import { version } from "../Support/Version.js"
import { scrapeBody, Telemetry } from "./ScrapeBody.js"
import { MetricStore } from "./Store.js"

/** A cycle's start (epoch ms) and how long its phases took (ms), for the poll duration metrics. */
export interface CycleStats {
  readonly startedAt: number
  readonly phases: { readonly observe: number; readonly alerts: number }
}

const pollBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

/** The self-telemetry registry: the daemon's own series, rendered per scrape. Object state lives in the store. */
const makeRegistry = () => {
  const registry = new Prom.Registry()
  const registers = [registry]
  const gauge = <L extends string>(name: string, help: string, labelNames: ReadonlyArray<L>) =>
    new Prom.Gauge<L>({ name, help, labelNames, registers })
  const m = {
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
      help: "HTTP attempts against the Phala Cloud API by status code (timeout and network for attempts without a response) and endpoint (app, list, action).",
      labelNames: ["code", "endpoint"],
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
    remediationActions: new Prom.Counter({
      name: "phala_drift_remediation_actions_total",
      help: "Self-healing decisions and actions by action (start, shutdown) and result (ok, failed: the API refused or did not answer, skipped: not acted on now, see GET /api/v1/actions, dry_run).",
      labelNames: ["action", "result"],
      registers
    }),
    skippedTicks: new Prom.Counter({
      name: "phala_drift_poll_ticks_skipped_total",
      help: "Scheduled ticks skipped because the previous cycle was still running.",
      registers
    })
  }
  m.buildInfo.set({ version }, 1)
  // every series from the start, so that increase() sees the first self-healing action
  for (const action of ["start", "shutdown"]) {
    for (const result of countedResults) m.remediationActions.inc({ action, result }, 0)
  }
  Prom.collectDefaultMetrics({ register: registry })
  // gauges named *_total break the naming rules `promtool check metrics` enforces; the per-type series stay
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(name)
  }
  return { registry, m }
}

/**
 * The metrics of `GET /metrics`: the object-state families (`phala_app_*`, `phala_cvm_*`) from the metric store,
 * rendered once per change of an app and served as cached bytes, then the self-telemetry of a prom-client registry
 * rendered for each scrape (so it is never a cycle old). While an app is unknown its drift, replica and CVM series
 * keep their last observed values (no phantom resolve on dashboards), and `phala_app_up` says the data is stale.
 */
export class Metrics extends Effect.Service<Metrics>()("phala-drift/Metrics", {
  scoped: Effect.gen(function*() {
    const { m, registry } = makeRegistry()
    const store = new MetricStore()

    /** The series of a new snapshot, rendered for scrapes; `stats` when it ends a cycle. */
    const record = (snapshot: Snapshot, stats: CycleStats | null) =>
      Effect.gen(function*() {
        yield* Effect.promise(async () => {
          await store.applySnapshot(snapshot)
          // without discovery nothing is unmanaged: a reload that turns it off removes the series
          store.setUnmanaged(snapshot.unmanaged ?? [])
          await store.publish()
        })
        m.apps.set(snapshot.apps.length)
        changed()
        if (stats !== null) {
          const finishedAt = yield* Clock.currentTimeMillis
          m.pollDuration.observe((finishedAt - stats.startedAt) / 1000)
          m.pollPhaseDuration.observe({ phase: "observe" }, stats.phases.observe / 1000)
          m.pollPhaseDuration.observe({ phase: "alerts" }, stats.phases.alerts / 1000)
          m.lastPollSuccess.set(finishedAt / 1000)
          changed()
        }
      })

    /** Apps' new reports, observed at `observedAt` (Unix ms), in one publish: costs O(those apps), not O(fleet). */
    const recordApps = (reports: ReadonlyArray<AppReport>, observedAt: number) =>
      Effect.promise(() => {
        for (const report of reports) store.upsert(report, observedAt)
        return store.publish()
      })

    // A rendering serves the scrapes that arrive while it runs and, for a quarter second, those that follow: a burst
    // of scrapes costs one collection of the default metrics (which read /proc), not one each. Any change to our own
    // series ends the reuse, so a scrape never misses what was recorded before it.
    const reuseMs = 250
    let rendering: Promise<Telemetry> | null = null
    let renderedAt = 0
    const changed = () => {
      rendering = null
    }
    const telemetry = (): Promise<Telemetry> => {
      const now = Date.now()
      if (rendering === null || now - renderedAt > reuseMs) {
        renderedAt = now
        const started = registry.metrics().then((text) => new Telemetry(text))
        rendering = started
        void started.catch(() => {
          if (rendering === started) rendering = null
        })
      }
      return rendering
    }

    /** What one scrape serves: the cached object state, then the self-telemetry rendered for it. */
    const scrape = (gzip: boolean): Effect.Effect<ScrapeBody> =>
      Effect.map(Effect.promise(telemetry), (rendered) => scrapeBody(store.current, rendered, gzip))

    /** Alert counts by name and state; every known name and state is emitted, 0 when none. */
    const alertStates = (counts: ReadonlyArray<{ readonly alertname: string; readonly state: string }>, names: ReadonlyArray<string>) => {
      m.alerts.reset()
      for (const alertname of names) for (const state of ["pending", "firing"]) m.alerts.set({ alertname, state }, 0)
      for (const { alertname, state } of counts) if (state !== "resolved") m.alerts.inc({ alertname, state })
    }

    const onEvent = (event: DaemonEvent): Effect.Effect<void> =>
      Effect.sync(() => {
        changed()
        switch (event._tag) {
          case "ApiAttempt":
            m.apiRequests.inc({ code: event.code, endpoint: event.endpoint })
            m.apiDuration.observe(event.seconds)
            return
          case "ConfigLoaded":
            m.configReloadOk.set(event.success ? 1 : 0)
            if (event.success) m.configReloadTime.set(event.at / 1000)
            return
          case "TickSkipped":
            m.skippedTicks.inc()
            return
          case "NotificationAttempt":
            m.notifications.inc({ receiver: event.receiver, result: event.result })
            return
          case "StateWriteFailed":
            m.stateWriteFailures.inc()
            return
          case "AlertsEvaluated":
            alertStates(event.alerts, event.names)
            return
          case "WebhookReceived":
            m.webhookEvents.inc({ event: event.event, result: event.result })
            return
          case "WebhookPublished":
            m.webhookLatency.observe(event.seconds)
            return
          case "RemediationRecorded":
            m.remediationActions.inc({ action: event.action, result: event.result })
            return
          case "QueueLengths":
            for (const [receiver, length] of event.lengths) m.queueLength.set({ receiver }, length)
            return
        }
      })
    yield* (yield* Events).subscribe(onEvent)

    return {
      record,
      recordApps,
      scrape,
      /** What the object-state store has rendered so far (for tests and benchmarks). */
      storeStats: Effect.sync(() => store.stats)
    } as const
  }),
  dependencies: [Events.Default]
}) {}

/** `GET /metrics` reads the exposition through the shared floor's view. */
export const MetricsViewLive = Layer.effect(MetricsView, Effect.map(Metrics, (metrics) => MetricsView.of({ scrape: metrics.scrape }))).pipe(
  Layer.provide(Metrics.Default)
)
