import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import { Clock, Duration, Effect, Either, Layer, Redacted, Ref, Schedule, Scope, ScopedRef } from "effect"
import { createHash } from "node:crypto"
import type { Alert, AlertEvent, AlertingSettings, ReceiverSettings } from "../Core/Domain/Alert.js"
import { alertNames } from "../Core/Domain/Alert.js"
import { type DaemonConfig, pollPeriod } from "../Core/Domain/App.js"
import type { AppReport, Snapshot } from "../Core/Domain/Report.js"
import { AlertsView } from "../Runtime/AlertsView.js"
import { ConfigStore } from "../Runtime/ConfigStore.js"
import { RemediationView } from "../Runtime/RemediationView.js"
import type { FailedRemediation } from "../Core/Remediation.js"
import { DaemonEvent, Events, type NotificationResult } from "../Runtime/Events.js"
import { resolveExternalUrl } from "../Core/Alerting/Annotations.js"
import { type DeliveryResult, makeHandover, makeOutbox, type Outbox, outboxDir } from "./Outbox.js"
import type { LastSent } from "../Core/Alerting/Resend.js"
import { alertmanagerRound } from "./Receivers/AlertmanagerSender.js"
import { isEventReceiver, outboxReceivers } from "./Receivers/EventReceivers.js"
import { routeAlert } from "../Core/Alerting/Routing.js"
import { adoptQueued } from "../Core/Alerting/Adopt.js"
import { type Evaluation, evaluate, evaluateApp } from "../Core/Alerting/Rules.js"
import { checkWritableDir, type StateDirError } from "./StateDir.js"
import { acquireLock, type LockOptions, type StateDirLock } from "./StateDirLock.js"
import { makeStateHealth } from "./StateHealth.js"
import {
  announcedFilePath,
  announcedKey,
  encodeAlertState,
  loadAlertState,
  saveAlertState,
  saveAnnounced,
  stateFilePath
} from "./StateStore.js"

const metricResult = (result: DeliveryResult): NotificationResult =>
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

const emptyOutbox: Outbox = {
  enqueue: () => Effect.void,
  stage: () => Effect.void,
  release: Effect.void,
  queued: Effect.succeed([]),
  queueLength: () => Effect.succeed(0),
  queueLengths: Effect.succeed(new Map()),
  unsaved: Effect.succeed(0)
}

const eventReceiverDirs = (stateDir: string, settings: AlertingSettings): ReadonlyArray<string> =>
  settings.receivers.filter(isEventReceiver).map((r) => outboxDir(stateDir, r.name))

/** Lock timings; tests shorten them. */
export class AlertingLockOptions extends Effect.Tag("phala-drift/AlertingLockOptions")<AlertingLockOptions, LockOptions>() {}

/**
 * The built-in alert engine around the pure rules: evaluates every snapshot, queues each state change durably for
 * webhook and Slack receivers (delivered in order by the outbox), keeps Alertmanager up to date with re-sends and
 * leases, and persists alert state so a restart resumes timers and firing alerts instead of starting over.
 */
export class Alerting extends Effect.Service<Alerting>()("phala-drift/Alerting", {
  scoped: Effect.gen(function*() {
    const store = yield* ConfigStore
    const events = yield* Events
    const notified = (receiver: string, result: NotificationResult) =>
      events.publish(DaemonEvent.NotificationAttempt({ receiver, result }))
    const http = yield* HttpClient.HttpClient
    const fs = yield* FileSystem.FileSystem
    const initial = yield* store.current
    const stateDir = initial.stateDir
    const serviceScope = yield* Effect.scope
    const lockOptions = yield* Effect.serviceOption(AlertingLockOptions)
    const remediation = yield* Effect.serviceOption(RemediationView)
    const health = yield* makeStateHealth(stateDir, events.publish(DaemonEvent.StateWriteFailed()))

    const recordFailure = (what: string, path: string, error: string) => health.failed(what, path, error)

    // state_dir belongs to one process (the lock) and must be writable; checked at start when alerting needs it
    let lock: StateDirLock | null = null
    const openStateDir = (settings: AlertingSettings): Effect.Effect<void, StateDirError> =>
      Effect.gen(function*() {
        if (lock === null) {
          yield* checkWritableDir(stateDir)
          lock = yield* acquireLock(stateDir, {
            ...(lockOptions._tag === "Some" ? lockOptions.value : {}),
            onHeartbeat: (result) =>
              Either.isRight(result)
                ? health.recovered("lock")
                : Effect.logError("state_dir lock could not be refreshed", result.left).pipe(
                  Effect.zipRight(recordFailure("lock", stateDir, result.left.detail))
                )
          }).pipe(Scope.extend(serviceScope))
          yield* health.recovered("state_dir")
        }
        yield* Effect.forEach(eventReceiverDirs(stateDir, settings), checkWritableDir, { discard: true })
      }).pipe(Effect.provideService(FileSystem.FileSystem, fs))

    if (initial.alerting !== null) yield* openStateDir(initial.alerting)
    const saved = yield* loadAlertState(stateDir)
    const alerts = yield* Ref.make<ReadonlyMap<string, Alert>>(saved.alerts)
    const amSent = yield* Ref.make<ReadonlyMap<string, LastSent>>(saved.alertmanagerSent)
    const gate = yield* Effect.makeSemaphore(1)
    const amGate = yield* Effect.makeSemaphore(1)
    const writeGate = yield* Effect.makeSemaphore(1)
    const handover = yield* makeHandover

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
            handover,
            onOutcome: (receiver, result) => notified(receiver, metricResult(result)),
            onDisk: (receiver, outcome) =>
              outcome._tag === "Failed"
                ? recordFailure(`outbox ${receiver}`, outcome.path, outcome.error)
                : health.recovered(`outbox ${receiver}`)
          })
        }).pipe(
          Effect.provideService(HttpClient.HttpClient, http),
          Effect.provideService(FileSystem.FileSystem, fs)
        )
    let outboxKey = initial.alerting === null ? "" : receiversKey(initial.alerting.receivers)
    const outbox = yield* ScopedRef.fromAcquire(buildOutbox(initial.alerting, initial))

    // a process killed between queuing events and saving the state that goes with them left events the saved state
    // does not know; taken in, so that the next evaluation does not announce the incident again under a new id
    const adopted = adoptQueued(saved.alerts, saved.evaluatedAt, yield* (yield* ScopedRef.get(outbox)).queued)
    const taken = [...adopted].filter(([fingerprint, alert]) => saved.alerts.get(fingerprint) !== alert)
    if (taken.length > 0) {
      yield* Effect.logWarning("alert state brought in line with notifications queued before the last stop").pipe(
        Effect.annotateLogs({ alerts: taken.length, fingerprints: taken.map(([fingerprint]) => fingerprint) })
      )
    }
    yield* Ref.set(alerts, adopted)

    /** Notifications still queued for receivers a reload removed cannot be delivered: say so, never silently. */
    const abandonRemoved = (settings: AlertingSettings | null) =>
      Effect.gen(function*() {
        const names = new Set(settings?.receivers.map((r) => r.name) ?? [])
        const left = yield* Ref.get(handover)
        for (const [receiver, leftover] of left) {
          if (names.has(receiver) || leftover.items.length === 0) continue
          yield* Effect.logError("receiver removed from the config; its queued notifications are not delivered").pipe(
            Effect.annotateLogs({
              receiver,
              items: leftover.items.length,
              on_disk_under: outboxDir(stateDir, receiver),
              in_memory_only: leftover.items.filter((i) => !i.onDisk).length
            })
          )
          for (let i = 0; i < leftover.items.length; i++) yield* notified(receiver, "dropped")
        }
        yield* Ref.update(handover, (m) => new Map([...m].filter(([receiver]) => names.has(receiver))))
      })

    const currentOutbox = (config: DaemonConfig) =>
      Effect.gen(function*() {
        if (config.alerting !== null && lock === null) {
          // alerting switched on by a reload: the directory is checked and locked now; until that works the
          // outbox keeps notifications in memory and retries its writes
          const opened = yield* Effect.either(openStateDir(config.alerting))
          if (Either.isLeft(opened)) {
            yield* Effect.logError("state_dir is not usable; notifications are kept in memory", opened.left)
            yield* recordFailure("state_dir", opened.left.path, opened.left.detail)
          }
        }
        const key = config.alerting === null ? "" : receiversKey(config.alerting.receivers)
        if (key !== outboxKey) {
          outboxKey = key
          yield* ScopedRef.set(outbox, buildOutbox(config.alerting, config))
          yield* abandonRemoved(config.alerting)
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
            yield* notified(receiver.name, result.error === null ? "success" : "failure")
            if (result.error !== null) {
              yield* Effect.logWarning("Alertmanager did not accept alerts").pipe(
                Effect.annotateLogs({ receiver: receiver.name, error: result.error.message })
              )
            }
          }
          yield* Ref.update(amSent, (m) => new Map(m).set(receiver.name, round.lastSent))
        }), { discard: true })

    // what was last written, without the times of writing: an unchanged state (no alerts, the usual case) is not
    // rewritten and fsynced every cycle; a failed write is tried again at the next evaluation or resend round
    let lastWritten = ""
    let stateFailed = false
    // written once after start too, so a state dir from before the ledger existed gets one
    let lastAnnounced = ""
    const persist = (now: number) =>
      writeGate.withPermits(1)(Effect.gen(function*() {
        const state = { alerts: yield* Ref.get(alerts), alertmanagerSent: yield* Ref.get(amSent), evaluatedAt: now }
        const content = encodeAlertState({ ...state, evaluatedAt: null }, 0)
        if (content !== lastWritten) {
          const written = yield* Effect.either(saveAlertState(stateDir, state))
          if (Either.isLeft(written)) {
            yield* Effect.logError("cannot save alert state; retried after the next evaluation").pipe(
              Effect.annotateLogs({ path: stateFilePath(stateDir), error: written.left.message })
            )
            stateFailed = true
            return yield* recordFailure("alert state", stateFilePath(stateDir), written.left.message)
          }
          lastWritten = content
          if (stateFailed) {
            // the directory works again, and may have been recreated empty: the lock goes back at once
            stateFailed = false
            yield* health.recovered("alert state")
            if (lock !== null) yield* Effect.ignore(lock.refresh)
          }
        }
        const ledgerKey = announcedKey(state.alerts)
        if (ledgerKey === lastAnnounced) return
        const ledger = yield* Effect.either(saveAnnounced(stateDir, state.alerts))
        if (Either.isLeft(ledger)) {
          yield* Effect.logError("cannot save the announced-alerts ledger; retried after the next evaluation").pipe(
            Effect.annotateLogs({ path: announcedFilePath(stateDir), error: ledger.left.message })
          )
          return yield* recordFailure("announced ledger", announcedFilePath(stateDir), ledger.left.message)
        }
        lastAnnounced = ledgerKey
        yield* health.recovered("announced ledger")
      }).pipe(Effect.provideService(FileSystem.FileSystem, fs)))

    const publishAlertFacts = (config: DaemonConfig) =>
      Effect.gen(function*() {
        const current = [...(yield* Ref.get(alerts)).values()]
        yield* events.publish(DaemonEvent.AlertsEvaluated({
          alerts: current.map((a) => ({ alertname: a.name, state: a.state })),
          names: alertNames
        }))
        yield* events.publish(DaemonEvent.QueueLengths({ lengths: yield* (yield* currentOutbox(config)).queueLengths }))
      })

    /** Evaluate the rules (a whole snapshot, or one app's new report) and hand every state change to its receivers. */
    const onEvaluation = (
      run: (input: {
        previous: ReadonlyMap<string, Alert>
        now: number
        externalUrl: string
        remediationFailed: ReadonlyArray<FailedRemediation>
      }) => Evaluation
    ) =>
      gate.withPermits(1)(Effect.gen(function*() {
        const config = yield* store.current
        const settings = config.alerting
        if (settings === null) return
        const now = yield* Clock.currentTimeMillis
        const box = yield* currentOutbox(config)
        const result = run({
          previous: yield* Ref.get(alerts),
          now,
          externalUrl: resolveExternalUrl(settings.externalUrl, config.server),
          remediationFailed: remediation._tag === "Some" ? yield* remediation.value.failed : []
        })
        // One step that shutdown cannot cut: the events are queued (held back from receivers), the alert state that
        // goes with them is saved, then they are released. Killed in between (kill -9), the events are on disk and
        // the state is not: `adoptQueued` takes them in at the next start. Never is an event delivered that the
        // saved state does not know.
        yield* Effect.uninterruptible(Effect.gen(function*() {
          for (const event of result.events) {
            for (const receiver of routeAlert(event.alert, settings)) {
              const target = settings.receivers.find((r) => r.name === receiver)
              if (target === undefined || target._tag === "Alertmanager") continue
              // the outbox keeps what the disk refuses in memory; only a receiver unknown to it fails here
              yield* box.stage(receiver, event).pipe(
                Effect.catchAll((e) => Effect.logError("cannot queue notification", e).pipe(Effect.annotateLogs({ receiver })))
              )
            }
            yield* Effect.logInfo(`alert ${event.kind}`).pipe(
              Effect.annotateLogs({ alertname: event.alert.name, fingerprint: event.alert.fingerprint, ...event.alert.labels })
            )
          }
          yield* Ref.set(alerts, result.alerts)
          yield* persist(now)
          yield* box.release
        }))
        yield* publishAlertFacts(config)
        // off the cycle's path: an Alertmanager that hangs must not hold up polling, metrics or readiness
        yield* Effect.forkIn(Effect.interruptible(resendRound), serviceScope)
      })).pipe(Effect.catchAllCause((cause) => Effect.logError("alert evaluation failed", cause)))

    const onSnapshot = (snapshot: Snapshot) => onEvaluation((input) => evaluate({ ...input, snapshot }))
    /** Apps' reports published between cycles: only those apps' alerts are evaluated again. */
    const onApps = (reports: ReadonlyArray<AppReport>) =>
      onEvaluation((input) => {
        let alerts = input.previous
        const events: Array<AlertEvent> = []
        for (const report of reports) {
          const one = evaluateApp({ ...input, previous: alerts, report })
          alerts = one.alerts
          events.push(...one.events)
        }
        return { alerts, events }
      })

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
      active: Effect.map(Ref.get(alerts), (m) => [...m.values()]),
      stateDir: Effect.flatMap(ScopedRef.get(outbox), (box) => Effect.flatMap(box.unsaved, health.view))
    })

    return { onSnapshot, onApps, view, current: Ref.get(alerts) } as const
  }).pipe(Effect.annotateLogs({ service: "Alerting" })),
  dependencies: [Events.Default, RemediationView.Default]
}) {}

/** AlertsView backed by the engine. */
export const AlertsViewLive = Layer.effect(AlertsView, Effect.map(Alerting, (a) => a.view)).pipe(Layer.provide(Alerting.Default))
