import { Duration } from "effect"
import { inMaintenance } from "./Alerting/Routing.js"
import { formatDuration } from "./Domain/Duration.js"
import type { DesiredStatus, RemediationSettings } from "./Domain/App.js"
import type { AppReport } from "./Domain/Report.js"

/**
 * Self-healing decisions (DESIGN §13), pure: the clock is `now`, the action table is handed in. For every CVM of an
 * app with `remediate: true` it keeps how long the CVM's status drift (the `PhalaCvmStatusDrift` condition) has
 * held, how many actions were taken in this incident and when the last one was. An incident is the time the status
 * drift holds without interruption; it ends when the CVM is healthy again (or its app leaves the config or stops
 * being remediated). While an app is `unknown` nothing is known of its CVMs: their incidents are held as they were.
 */

/** An action of the table (`src/Core/Plan/Actions.ts`), as far as self-healing reads it. */
export interface Candidate {
  readonly app_id: string
  readonly vm_uuid: string
  readonly cvm_name: string
  readonly action: "start" | "shutdown" | "stop"
  readonly from: string
  readonly to: DesiredStatus
}

/** Why a remediable drift was not acted on now (closed set, recorded and shown). */
export type SkipReason =
  | "not_held"
  | "unknown"
  | "maintenance"
  | "cooldown"
  | "max_per_cycle"
  | "max_attempts"
  | "record_failed"

/** What self-healing remembers of one CVM. Times are epoch ms. */
export interface CvmMemory {
  readonly appId: string
  readonly appName: string
  readonly vmUuid: string
  readonly cvmName: string
  /** Since when the status drift holds (the incident's start); null: no incident. */
  readonly incidentSince: number | null
  /** Actions taken in this incident. */
  readonly attempts: number
  /** The last action taken (intent recorded), whatever its result: the cooldown runs from here. */
  readonly lastActionAt: number | null
  readonly lastDryRunAt: number | null
  /** The last decision recorded for this CVM (`act`, `dry_run` or a skip reason): a repeated skip is not recorded again. */
  readonly lastDecision: string | null
  /** `max_attempts` reached in this incident: `PhalaRemediationFailed` holds. */
  readonly failed: boolean
  /** The action last proposed for it in this incident (what an `unknown` skip is about). */
  readonly candidate: Candidate | null
}

export type RemediationState = ReadonlyMap<string, CvmMemory>

export const memoryKey = (appId: string, vmUuid: string): string => `${appId}/${vmUuid}`

/** A decision for one candidate. `attempt` is the attempt this action is (or would be) in its incident. */
export interface Decided {
  readonly candidate: Candidate
  readonly appName: string
  readonly incidentSince: number
  readonly attempt: number
  readonly outcome:
    | { readonly _tag: "Act" }
    | { readonly _tag: "DryRun" }
    | { readonly _tag: "Skip"; readonly reason: SkipReason; readonly detail: string }
}

/** A CVM whose remediation gave up: `max_attempts` actions in this incident and the drift is still there. */
export interface FailedRemediation {
  readonly appId: string
  readonly appName: string
  readonly vmUuid: string
  readonly cvmName: string
  readonly attempts: number
  readonly incidentSince: number
}

export interface DecideInput {
  readonly reports: ReadonlyArray<AppReport>
  /** The actions of the table for one (known) app report. */
  readonly candidates: (report: AppReport) => ReadonlyArray<Candidate>
  readonly settings: RemediationSettings
  readonly state: RemediationState
  readonly now: number
}

export interface Decisions {
  /** Actions to take now, in order, at most `max_actions_per_cycle`. */
  readonly act: ReadonlyArray<Decided>
  /** Dry runs and skips to record (a skip only when it differs from the CVM's last recorded decision). */
  readonly record: ReadonlyArray<Decided>
  /** The memory after this cycle, with the actions of `act` counted as taken. */
  readonly state: RemediationState
  readonly failed: ReadonlyArray<FailedRemediation>
}

const fresh = (appId: string, appName: string, vmUuid: string, cvmName: string): CvmMemory => ({
  appId,
  appName,
  vmUuid,
  cvmName,
  incidentSince: null,
  attempts: 0,
  lastActionAt: null,
  lastDryRunAt: null,
  lastDecision: null,
  failed: false,
  candidate: null
})

const endIncident = (m: CvmMemory): CvmMemory => ({ ...m, incidentSince: null, attempts: 0, lastDecision: null, failed: false, candidate: null })

/**
 * Kept while it matters: during an incident, or while the cooldown of its last action (or dry run) runs, so a CVM
 * that flaps is not acted on again within the cooldown.
 */
const stillNeeded = (m: CvmMemory, now: number, cooldownMs: number): boolean =>
  m.incidentSince !== null ||
  (m.lastActionAt !== null && now - m.lastActionAt < cooldownMs) ||
  (m.lastDryRunAt !== null && now - m.lastDryRunAt < cooldownMs)

/** The CVMs with a status drift in a known report, by vm_uuid (CVMs without one cannot be acted on). */
const driftingCvms = (report: AppReport): ReadonlyMap<string, string> => {
  const out = new Map<string, string>()
  for (const drift of report.drifts) if (drift.kind === "status" && drift.vmUuid !== null) out.set(drift.vmUuid, drift.cvmName)
  return out
}

/** Updates the incidents from the reports: opened by a status drift, held while the app is unknown, ended otherwise. */
export const trackIncidents = (
  reports: ReadonlyArray<AppReport>,
  state: RemediationState,
  now: number,
  cooldown: Duration.Duration
): Map<string, CvmMemory> => {
  const cooldownMs = Duration.toMillis(cooldown)
  const next = new Map<string, CvmMemory>()
  const seen = new Set<string>()
  for (const report of reports) {
    if (report.desired.remediate !== true) continue
    if (report.sync === "unknown") {
      for (const [key, m] of state) {
        if (m.appId !== report.appId) continue
        seen.add(key)
        next.set(key, m)
      }
      continue
    }
    const drifting = driftingCvms(report)
    for (const [vmUuid, cvmName] of drifting) {
      const key = memoryKey(report.appId, vmUuid)
      seen.add(key)
      const before = state.get(key) ?? fresh(report.appId, report.name, vmUuid, cvmName)
      next.set(key, { ...before, appName: report.name, cvmName, incidentSince: before.incidentSince ?? now })
    }
    for (const [key, m] of state) {
      if (m.appId !== report.appId || drifting.has(m.vmUuid)) continue
      seen.add(key)
      const ended = endIncident(m)
      if (stillNeeded(ended, now, cooldownMs)) next.set(key, ended)
    }
  }
  // apps gone from the config, or no longer remediated: their incidents end, their cooldowns still hold
  for (const [key, m] of state) {
    if (seen.has(key)) continue
    const ended = endIncident(m)
    if (stillNeeded(ended, now, cooldownMs)) next.set(key, ended)
  }
  return next
}

const since = (from: number | null, now: number): string => formatDuration(Duration.millis(Math.max(0, now - (from ?? now))))

/**
 * One cycle's decisions. An action is taken only when remediation is enabled, the app has `remediate: true` and is
 * known, it is outside its maintenance windows, the CVM's status drift has held for the app's `for`, fewer than
 * `max_attempts` actions were taken in this incident, the CVM's `cooldown` has passed and fewer than
 * `max_actions_per_cycle` actions (or dry runs) were decided before it in this cycle.
 */
export const decide = (input: DecideInput): Decisions => {
  const { now, reports, settings } = input
  const state = trackIncidents(reports, input.state, now, settings.cooldown)
  const act: Array<Decided> = []
  const record: Array<Decided> = []
  if (!settings.enabled) return { act, record, state, failed: [] }
  const cooldownMs = Duration.toMillis(settings.cooldown)
  let taken = 0

  const note = (m: CvmMemory, decided: Decided, key: string): void => {
    const outcome = decided.outcome
    const label = outcome._tag === "Skip" ? outcome.reason : outcome._tag === "Act" ? "act" : "dry_run"
    if (outcome._tag === "Skip" && m.lastDecision === label) return
    state.set(key, { ...m, lastDecision: label })
    if (outcome._tag !== "Act") record.push(decided)
  }

  for (const report of reports) {
    if (report.desired.remediate !== true) continue
    if (report.sync === "unknown") {
      // nothing observed: never act; say so once per incident for the CVMs an action was proposed for
      for (const [key, m] of state) {
        if (m.appId !== report.appId || m.incidentSince === null || m.failed || m.candidate === null) continue
        note(m, {
          candidate: m.candidate,
          appName: report.name,
          incidentSince: m.incidentSince,
          attempt: m.attempts + 1,
          outcome: { _tag: "Skip", reason: "unknown", detail: `the app is unknown (${report.error?.reason ?? "not observed"}): never acted on` }
        }, key)
      }
      continue
    }
    const forMs = Duration.toMillis(report.desired.for)
    const maintenance = inMaintenance(report.desired, now)
    for (const candidate of input.candidates(report)) {
      const key = memoryKey(report.appId, candidate.vm_uuid)
      const known = state.get(key)
      // the table only proposes actions for status drifts, which opened an incident above
      if (known === undefined || known.incidentSince === null) continue
      const m: CvmMemory = { ...known, candidate }
      state.set(key, m)
      const incidentSince = known.incidentSince
      const decided = (outcome: Decided["outcome"], attempt = m.attempts + 1): Decided => ({
        candidate,
        appName: report.name,
        incidentSince,
        attempt,
        outcome
      })
      const skip = (reason: SkipReason, detail: string) => note(m, decided({ _tag: "Skip", reason, detail }), key)
      if (maintenance) {
        skip("maintenance", "the app is in a maintenance window")
        continue
      }
      if (now - incidentSince < forMs) {
        skip("not_held", `drift held for ${since(incidentSince, now)} of ${formatDuration(report.desired.for)}`)
        continue
      }
      if (m.attempts >= settings.maxAttempts) {
        if (!m.failed) {
          state.set(key, { ...m, failed: true })
          note({ ...m, failed: true }, decided({ _tag: "Skip", reason: "max_attempts", detail: `${m.attempts} of ${settings.maxAttempts} attempts used in this incident: a person must look` }, m.attempts), key)
        }
        continue
      }
      const last = settings.dryRun ? m.lastDryRunAt : m.lastActionAt
      if (last !== null && now - last < cooldownMs) {
        skip("cooldown", `last ${settings.dryRun ? "dry run" : "action"} ${since(last, now)} ago, cooldown ${formatDuration(settings.cooldown)}`)
        continue
      }
      if (taken >= settings.maxActionsPerCycle) {
        skip("max_per_cycle", `max_actions_per_cycle (${settings.maxActionsPerCycle}) reached: waits for a later cycle`)
        continue
      }
      taken++
      if (settings.dryRun) {
        note({ ...m, lastDryRunAt: now }, decided({ _tag: "DryRun" }), key)
      } else {
        const d = decided({ _tag: "Act" })
        note({ ...m, attempts: m.attempts + 1, lastActionAt: now }, d, key)
        act.push(d)
      }
    }
  }
  return { act, record, state, failed: failedOf(state, reports, settings) }
}

/** The CVMs that used all their attempts in an incident still open, of apps still remediated. */
export const failedOf = (
  state: RemediationState,
  reports: ReadonlyArray<AppReport>,
  settings: RemediationSettings
): ReadonlyArray<FailedRemediation> => {
  if (!settings.enabled) return []
  const remediated = new Set(reports.filter((r) => r.desired.remediate === true).map((r) => r.appId))
  return [...state.values()]
    .filter((m) => m.failed && m.incidentSince !== null && remediated.has(m.appId))
    .map((m) => ({
      appId: m.appId,
      appName: m.appName,
      vmUuid: m.vmUuid,
      cvmName: m.cvmName,
      attempts: m.attempts,
      incidentSince: m.incidentSince ?? 0
    }))
}

/** What a record read back from `actions.jsonl` tells about a CVM (see `restoreState`). */
export interface RestoredFact {
  readonly candidate: Candidate
  readonly appId: string
  readonly appName: string
  readonly vmUuid: string
  readonly cvmName: string
  readonly at: number
  readonly kind: "taken" | "dry_run" | "gave_up"
  readonly attempt: number
  readonly incidentSince: number
}

/**
 * The memory rebuilt from the records of earlier runs, oldest first: an action recorded as intended counts as taken
 * (it may have been sent before a crash), so its cooldown holds and its attempt counts. The incident continues if
 * the drift is still there at the first cycle, else it ends then.
 */
export const restoreState = (facts: ReadonlyArray<RestoredFact>): RemediationState => {
  const state = new Map<string, CvmMemory>()
  for (const f of facts) {
    const key = memoryKey(f.appId, f.vmUuid)
    const m = state.get(key) ?? fresh(f.appId, f.appName, f.vmUuid, f.cvmName)
    // a record from an earlier incident of this CVM does not carry its attempts into this one
    const sameIncident = m.incidentSince === f.incidentSince
    switch (f.kind) {
      case "taken":
        state.set(key, {
          ...m,
          incidentSince: f.incidentSince,
          attempts: sameIncident ? Math.max(m.attempts, f.attempt) : f.attempt,
          lastActionAt: Math.max(m.lastActionAt ?? f.at, f.at),
          lastDecision: "act",
          failed: sameIncident && m.failed,
          candidate: f.candidate
        })
        break
      case "dry_run":
        state.set(key, { ...m, lastDryRunAt: Math.max(m.lastDryRunAt ?? f.at, f.at), lastDecision: "dry_run" })
        break
      case "gave_up":
        state.set(key, {
          ...m,
          incidentSince: f.incidentSince,
          attempts: Math.max(sameIncident ? m.attempts : 0, f.attempt),
          failed: true,
          lastDecision: "max_attempts",
          candidate: f.candidate
        })
        break
    }
  }
  return state
}
