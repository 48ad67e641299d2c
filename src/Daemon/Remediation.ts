import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import { Clock, Duration, Effect, Either } from "effect"
import { randomUUID } from "node:crypto"
import { type ActionRetry, make as makeCvmActions, type CvmActionsService } from "../Cloud/CvmActions.js"
import type { ActionRecord, ActionResult } from "../Core/Domain/ActionRecord.js"
import { type ApiSettings, defaultRemediation } from "../Core/Domain/App.js"
import type { Snapshot } from "../Core/Domain/Report.js"
import { planActions } from "../Core/Plan/Actions.js"
import {
  type Candidate,
  type Decided,
  decide,
  memoryKey,
  type RemediationState,
  type RestoredFact,
  restoreState
} from "../Core/Remediation.js"
import { ConfigStore } from "../Runtime/ConfigStore.js"
import { DaemonEvent, Events } from "../Runtime/Events.js"
import { RemediationView } from "../Runtime/RemediationView.js"
import { actionsFilePath, appendRecords, readActionLog } from "../Alerts/ActionLog.js"

/** Records kept in memory for `GET /api/v1/actions` and the page. */
export const recentLimit = 200

/**
 * Fewer and shorter retries than `apply`'s: a SIGTERM waits for an action in flight (it is never cut between its
 * request and its record), so one action must not hold shutdown for minutes.
 */
export const remediationRetry: ActionRetry = {
  attempts: 3,
  conflictDelay: Duration.seconds(2),
  maxRetryAfter: Duration.seconds(10)
}

const iso = (ms: number): string => new Date(ms).toISOString()

const toRecord = (d: Decided, at: number, id: string, result: ActionResult, reason: string | null, detail: string): ActionRecord => ({
  id,
  at: iso(at),
  app_id: d.candidate.app_id,
  app_name: d.appName,
  vm_uuid: d.candidate.vm_uuid,
  cvm_name: d.candidate.cvm_name,
  action: d.candidate.action,
  from: d.candidate.from,
  to: d.candidate.to,
  result,
  reason,
  detail,
  attempt: d.attempt,
  incident_since: iso(d.incidentSince)
})

/** What the records of earlier runs say (see `restoreState`); a result without its intent says nothing more. */
export const factsOf = (records: ReadonlyArray<ActionRecord>): ReadonlyArray<RestoredFact> =>
  records.flatMap((r): ReadonlyArray<RestoredFact> => {
    const base = {
      candidate: { app_id: r.app_id, vm_uuid: r.vm_uuid, cvm_name: r.cvm_name, action: r.action, from: r.from, to: r.to },
      appId: r.app_id,
      appName: r.app_name,
      vmUuid: r.vm_uuid,
      cvmName: r.cvm_name,
      at: Date.parse(r.at),
      attempt: r.attempt,
      incidentSince: Date.parse(r.incident_since)
    }
    if (r.result === "intent") return [{ ...base, kind: "taken" }]
    if (r.result === "dry_run") return [{ ...base, kind: "dry_run" }]
    if (r.result === "skipped" && r.reason === "max_attempts") return [{ ...base, kind: "gave_up" }]
    return []
  })

/** The table's actions for a report; the daemon never forces a hard stop. */
const candidatesOf = (report: Snapshot["apps"][number]): ReadonlyArray<Candidate> =>
  planActions(report, { force: false }).flatMap((d) => (d._tag === "Act" ? [d.action] : []))

/**
 * Self-healing in `serve` (DESIGN §13): after each published cycle, decides (Core/Remediation) and acts through the
 * CVM action client. Every decision is appended to `state_dir/actions.jsonl`; an action's intent is written and
 * fsync'd before its request is sent, and its result after, in one step that neither shutdown nor a client going
 * away can cut. When the intent cannot be written the action is not taken (a restart could otherwise repeat it
 * within its cooldown). At start the file is read back, so cooldowns and attempts survive a restart or a crash.
 */
export class Remediation extends Effect.Service<Remediation>()("phala-drift/Remediation", {
  scoped: Effect.gen(function*() {
    const store = yield* ConfigStore
    const events = yield* Events
    const view = yield* RemediationView
    const fs = yield* FileSystem.FileSystem
    const http = yield* HttpClient.HttpClient
    const initial = yield* store.current
    const stateDir = initial.stateDir
    const path = actionsFilePath(stateDir)

    const loaded = yield* Effect.either(readActionLog(stateDir).pipe(Effect.provideService(FileSystem.FileSystem, fs)))
    const earlier = Either.isRight(loaded) ? loaded.right.records : []
    if (Either.isLeft(loaded)) {
      yield* Effect.logError("cannot read the self-healing record; cooldowns of earlier runs are not known").pipe(
        Effect.annotateLogs({ path, error: loaded.left.message })
      )
    } else if (loaded.right.unreadable > 0) {
      yield* Effect.logWarning("lines of the self-healing record could not be read (a torn last line after a crash is expected)").pipe(
        Effect.annotateLogs({ path, lines: loaded.right.unreadable })
      )
    }
    let state: RemediationState = restoreState(factsOf(earlier))
    let recent: ReadonlyArray<ActionRecord> = earlier.slice(-recentLimit)
    yield* view.setRecords(recent)
    yield* view.setEnabled((initial.remediation ?? defaultRemediation).enabled)
    const gate = yield* Effect.makeSemaphore(1)

    let clientCache: { readonly settings: ApiSettings; readonly client: CvmActionsService } | null = null
    const clientFor = (settings: ApiSettings) =>
      Effect.gen(function*() {
        if (clientCache !== null && clientCache.settings === settings) return clientCache.client
        const client = yield* makeCvmActions(settings, remediationRetry).pipe(
          Effect.provideService(HttpClient.HttpClient, http),
          Effect.provideService(Events, events)
        )
        clientCache = { settings, client }
        return client
      })

    const remember = (records: ReadonlyArray<ActionRecord>) =>
      Effect.suspend(() => {
        recent = [...recent, ...records].slice(-recentLimit)
        return view.setRecords(recent)
      })

    /**
     * Appends and fsyncs; false when the disk refused (logged, counted). Decisions are shown even then (in memory
     * only); an intent only once it is on disk, since an action without it is not taken.
     */
    const write = (records: ReadonlyArray<ActionRecord>, shownIfUnwritten: boolean): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        if (records.length === 0) return true
        const written = yield* Effect.either(appendRecords(stateDir, records).pipe(Effect.provideService(FileSystem.FileSystem, fs)))
        if (Either.isRight(written) || shownIfUnwritten) yield* remember(records)
        if (Either.isRight(written)) return true
        yield* Effect.logError("cannot append to the self-healing record").pipe(
          Effect.annotateLogs({ path, error: written.left.message })
        )
        yield* events.publish(DaemonEvent.StateWriteFailed())
        return false
      })

    const counted = (record: ActionRecord) =>
      record.result === "intent" ? Effect.void : events.publish(DaemonEvent.RemediationRecorded({ action: record.action, result: record.result }))

    const logged = (record: ActionRecord) => {
      const fields = {
        app_id: record.app_id,
        app: record.app_name,
        vm_uuid: record.vm_uuid,
        cvm: record.cvm_name,
        action: record.action,
        result: record.result,
        attempt: record.attempt,
        ...(record.reason === null ? {} : { reason: record.reason })
      }
      const text = `self-healing ${record.action} ${record.cvm_name}: ${record.result}${record.detail === "" ? "" : ` (${record.detail})`}`
      return (record.result === "failed" ? Effect.logWarning(text) : Effect.logInfo(text)).pipe(Effect.annotateLogs(fields))
    }

    /** One action, from its intent to its result; nothing cuts it in half. */
    const takeAction = (d: Decided, client: CvmActionsService) =>
      Effect.uninterruptible(Effect.gen(function*() {
        const id = randomUUID()
        const intent = toRecord(d, yield* Clock.currentTimeMillis, id, "intent", null, `attempt ${d.attempt}`)
        if (!(yield* write([intent], false))) {
          // not on record, so not taken: the attempt is given back, the cooldown holds so a broken disk is not hammered
          const key = memoryKey(d.candidate.app_id, d.candidate.vm_uuid)
          const m = state.get(key)
          if (m !== undefined) state = new Map(state).set(key, { ...m, attempts: Math.max(0, m.attempts - 1) })
          const skipped = toRecord(d, yield* Clock.currentTimeMillis, id, "skipped", "record_failed", `cannot write ${path}: not acting without a record`)
          yield* remember([skipped])
          yield* counted(skipped)
          return yield* logged(skipped)
        }
        yield* logged(intent)
        const outcome = yield* Effect.either(client.act(d.candidate.action, d.candidate.vm_uuid))
        const at = yield* Clock.currentTimeMillis
        const result = Either.isRight(outcome)
          ? toRecord(d, at, id, "ok", null, `accepted${outcome.right.status === null ? "" : `, now ${outcome.right.status}`}`)
          : toRecord(d, at, id, "failed", outcome.left.reason, outcome.left.message)
        yield* write([result], true)
        yield* counted(result)
        yield* logged(result)
      }))

    /** One round after a published snapshot. Errors are logged, never fail the cycle. */
    const afterPublish = (snapshot: Snapshot): Effect.Effect<void> =>
      gate.withPermits(1)(Effect.gen(function*() {
        const config = yield* store.current
        const settings = config.remediation ?? defaultRemediation
        yield* view.setEnabled(settings.enabled)
        const now = yield* Clock.currentTimeMillis
        const decided = decide({ reports: snapshot.apps, candidates: candidatesOf, settings, state, now })
        state = decided.state
        yield* view.setFailed(decided.failed)
        const records = decided.record.map((d) =>
          d.outcome._tag === "Skip"
            ? toRecord(d, now, randomUUID(), "skipped", d.outcome.reason, d.outcome.detail)
            : toRecord(d, now, randomUUID(), "dry_run", null, `would ${d.candidate.action}; dry_run: nothing called`)
        )
        yield* Effect.uninterruptible(write(records, true))
        for (const record of records) {
          yield* counted(record)
          yield* logged(record)
        }
        if (decided.act.length === 0) return
        const client = yield* clientFor(config.api)
        for (const d of decided.act) yield* takeAction(d, client)
      })).pipe(
        Effect.catchAllCause((cause) => Effect.logError("self-healing round failed", cause)),
        Effect.annotateLogs({ service: "Remediation" })
      )

    return { afterPublish, view } as const
  }),
  dependencies: [Events.Default, RemediationView.Default]
}) {}
