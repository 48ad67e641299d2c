import { FileSystem, HttpClient } from "@effect/platform"
import { Clock, Duration, Effect, Layer, Redacted, Ref, Schedule, ScopedRef } from "effect"
import { createHash } from "node:crypto"
import { ConfigStore } from "../Daemon/ConfigStore.js"
import type { Alert, AlertingSettings, ReceiverSettings } from "../Domain/Alert.js"
import { alertNames } from "../Domain/Alert.js"
import { type DaemonConfig, pollPeriod } from "../Domain/App.js"
import type { Snapshot } from "../Domain/Report.js"
import { Metrics } from "../Metrics/Metrics.js"
import { AlertsView } from "./AlertsView.js"
import { resolveExternalUrl } from "./Annotations.js"
import { type DeliveryResult, makeOutbox, type Outbox } from "./Outbox.js"
import type { LastSent } from "./Receivers/AlertmanagerResend.js"
import { alertmanagerRound } from "./Receivers/AlertmanagerSender.js"
import { outboxReceivers } from "./Receivers/EventReceivers.js"
import { routeAlert } from "./Routing.js"
import { evaluate } from "./Rules.js"
import { encodeAlertState, loadAlertState, saveAlertState } from "./StateStore.js"

const metricResult = (result: DeliveryResult): "success" | "failure" | "dropped" =>
  result === "success" ? "success" : result === "retry" || result === "failure" ? "failure" : "dropped"

/** Identity of the event receivers, secrets included (hashed, never shown): a change rebuilds the outbox. */
const receiversKey = (receivers: ReadonlyArray<ReceiverSettings>): string =>
  createHash("sha256").update(JSON.stringify(receivers.map((r) => {
    switch (r._tag) {
      case "Webhook":
        return [r._tag, r.name, Redacted.value(r.url), r.bearerToken && Redacted.value(r.bearerToken), r.hmacSecret && Redacted.value(r.hmacSecret), Duration.toMillis(r.timeout)]
      case "Slack":
        return [r._tag, r.name, Redacted.value(r.webhookUrl), Duration.toMillis(r.timeout)]
      case "Alertmanager":
        return [r._tag, r.name]
    }
  }))).digest("hex")

const emptyOutbox: Outbox = { enqueue: () => Effect.void, queueLength: () => Effect.succeed(0), queueLengths: Effect.succeed(new Map()) }

/**
 * The built-in alert engine around the pure rules: evaluates every snapshot, queues each state change durably for
 * webhook and Slack receivers (delivered in order by the outbox), keeps Alertmanager up to date with re-sends and
 * leases, and persists alert state so a restart resumes timers and firing alerts instead of starting over.
 */
export class Alerting extends Effect.Service<Alerting>()("phala-drift/Alerting", {
  scoped: Effect.gen(function*() {
    const store = yield* ConfigStore
    const metrics = yield* Metrics
    const http = yield* HttpClient.HttpClient
    const fs = yield* FileSystem.FileSystem
    const initial = yield* store.current
    const stateDir = initial.stateDir
    const saved = yield* loadAlertState(stateDir)
    const alerts = yield* Ref.make<ReadonlyMap<string, Alert>>(saved.alerts)
    const amSent = yield* Ref.make<ReadonlyMap<string, LastSent>>(saved.alertmanagerSent)
    const gate = yield* Effect.makeSemaphore(1)
    const amGate = yield* Effect.makeSemaphore(1)
    const writeGate = yield* Effect.makeSemaphore(1)
    const serviceScope = yield* Effect.scope

    const buildOutbox = (settings: AlertingSettings | null, config: DaemonConfig) =>
      settings === null
        ? Effect.succeed(emptyOutbox)
        : Effect.gen(function*() {
          const receivers = yield* outboxReceivers(settings.receivers, {
            externalUrl: resolveExternalUrl(settings.externalUrl, config.server)
          })
          return yield* makeOutbox({
            stateDir,
            receivers,
            onOutcome: (receiver, result) => metrics.notification(receiver, metricResult(result))
          })
        }).pipe(
          Effect.provideService(HttpClient.HttpClient, http),
          Effect.provideService(FileSystem.FileSystem, fs),
          Effect.catchAll((e) => Effect.logError("cannot open the notification outbox", e).pipe(Effect.as(emptyOutbox)))
        )
    let outboxKey = initial.alerting === null ? "" : receiversKey(initial.alerting.receivers)
    const outbox = yield* ScopedRef.fromAcquire(buildOutbox(initial.alerting, initial))

    const currentOutbox = (config: DaemonConfig) =>
      Effect.gen(function*() {
        const key = config.alerting === null ? "" : receiversKey(config.alerting.receivers)
        if (key !== outboxKey) {
          outboxKey = key
          yield* ScopedRef.set(outbox, buildOutbox(config.alerting, config))
        }
        return yield* ScopedRef.get(outbox)
      })

    /** Post what is due to every Alertmanager receiver; a down instance is retried on the next round. */
    const alertmanagerRounds = (config: DaemonConfig, settings: AlertingSettings, now: number) =>
      Effect.forEach(settings.receivers, (receiver) =>
        Effect.gen(function*() {
          if (receiver._tag !== "Alertmanager") return
          const routed = new Map([...(yield* Ref.get(alerts))].filter(([, a]) => routeAlert(a, settings).includes(receiver.name)))
          const lastSent = (yield* Ref.get(amSent)).get(receiver.name) ?? new Map()
          const round = yield* alertmanagerRound(receiver, routed, lastSent, {
            now,
            pollInterval: pollPeriod(config),
            resendInterval: settings.resendInterval,
            externalUrl: resolveExternalUrl(settings.externalUrl, config.server)
          }).pipe(Effect.provideService(HttpClient.HttpClient, http))
          for (const result of round.results) {
            yield* metrics.notification(receiver.name, result.error === null ? "success" : "failure")
            if (result.error !== null) {
              yield* Effect.logWarning("Alertmanager did not accept alerts").pipe(
                Effect.annotateLogs({ receiver: receiver.name, error: result.error.message })
              )
            }
          }
          yield* Ref.update(amSent, (m) => new Map(m).set(receiver.name, round.lastSent))
        }), { discard: true })

    // what was last written, without the times of writing: an unchanged state (no alerts, the usual case) is not
    // rewritten and fsynced every cycle
    let lastWritten = ""
    const persist = (now: number) =>
      writeGate.withPermits(1)(Effect.gen(function*() {
        const state = { alerts: yield* Ref.get(alerts), alertmanagerSent: yield* Ref.get(amSent), evaluatedAt: now }
        const content = encodeAlertState({ ...state, evaluatedAt: null }, 0)
        if (content === lastWritten) return
        // saveAlertState creates state_dir on first use, so a daemon without alerting never needs it writable
        yield* saveAlertState(stateDir, state).pipe(
          Effect.provideService(FileSystem.FileSystem, fs),
          Effect.tap(() => Effect.sync(() => { lastWritten = content })),
          Effect.catchAll((e) => Effect.logError("cannot save alert state", e))
        )
      }))

    const publishMetrics = (config: DaemonConfig) =>
      Effect.gen(function*() {
        const current = [...(yield* Ref.get(alerts)).values()]
        yield* metrics.alertStates(current.map((a) => ({ alertname: a.name, state: a.state })), alertNames)
        const lengths = yield* (yield* currentOutbox(config)).queueLengths
        for (const [receiver, length] of lengths) yield* metrics.queueLength(receiver, length)
      })

    /** Evaluate the rules against a new snapshot and hand every state change to its receivers. */
    const onSnapshot = (snapshot: Snapshot) =>
      gate.withPermits(1)(Effect.gen(function*() {
        const config = yield* store.current
        const settings = config.alerting
        if (settings === null) return
        const now = yield* Clock.currentTimeMillis
        const box = yield* currentOutbox(config)
        const result = evaluate({
          snapshot,
          previous: yield* Ref.get(alerts),
          now,
          externalUrl: resolveExternalUrl(settings.externalUrl, config.server)
        })
        // queue first, then persist: a crash in between repeats a notification rather than losing one
        for (const event of result.events) {
          for (const receiver of routeAlert(event.alert, settings)) {
            const target = settings.receivers.find((r) => r.name === receiver)
            if (target === undefined || target._tag === "Alertmanager") continue
            yield* box.enqueue(receiver, event).pipe(
              Effect.catchAll((e) => Effect.logError("cannot queue notification", e).pipe(Effect.annotateLogs({ receiver })))
            )
          }
          yield* Effect.logInfo(`alert ${event.kind}`).pipe(
            Effect.annotateLogs({ alertname: event.alert.name, fingerprint: event.alert.fingerprint, ...event.alert.labels })
          )
        }
        yield* Ref.set(alerts, result.alerts)
        yield* persist(now)
        yield* publishMetrics(config)
        // off the cycle's path: an Alertmanager that hangs must not hold up polling, metrics or readiness
        yield* Effect.forkIn(Effect.interruptible(resendRound), serviceScope)
      })).pipe(Effect.catchAllCause((cause) => Effect.logError("alert evaluation failed", cause)))

    /** One round to every Alertmanager receiver; skipped while one is still running (the next tick catches up). */
    const resendRound = amGate.withPermitsIfAvailable(1)(Effect.gen(function*() {
      const config = yield* store.current
      if (config.alerting === null) return
      const now = yield* Clock.currentTimeMillis
      yield* alertmanagerRounds(config, config.alerting, now)
      yield* persist(now)
    })).pipe(Effect.catchAllCause((cause) => Effect.logError("Alertmanager resend failed", cause)))

    // Alertmanager leases must be renewed even when cycles are far apart (cron schedules)
    yield* Effect.forkScoped(Effect.repeat(resendRound, Schedule.spaced("15 seconds")))

    const view = AlertsView.of({
      enabled: Effect.map(store.current, (c) => c.alerting !== null),
      active: Effect.map(Ref.get(alerts), (m) => [...m.values()])
    })

    return { onSnapshot, view, current: Ref.get(alerts) } as const
  }).pipe(Effect.annotateLogs({ service: "Alerting" }))
}) {}

/** AlertsView backed by the engine. */
export const AlertsViewLive = Layer.effect(AlertsView, Effect.map(Alerting, (a) => a.view))
