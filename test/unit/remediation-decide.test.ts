import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, TestClock } from "effect"
import { defaultRemediation, type DesiredApp, type RemediationSettings } from "../../src/Core/Domain/App.js"
import { FetchFailure, Observation } from "../../src/Core/Domain/Observation.js"
import type { ObservedCvm } from "../../src/Core/Domain/Observation.js"
import type { AppReport } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { type Candidate, type Decisions, decide, type RemediationState, restoreState } from "../../src/Core/Remediation.js"
import { cvm, desiredApp, observedApp } from "../support/builders.js"

const UUID = "c48d9363-21b2-4f4a-87d9-3496623f020d"
const UUID2 = "16d247ca-23f5-4ffa-b590-7f732eddbf51"
const APP2 = "0123456789abcdef0123456789abcdef01234567"

const app = (overrides: Partial<DesiredApp> = {}) =>
  desiredApp({ replicas: { min: 1, max: 1 }, for: Duration.minutes(1), remediate: true, ...overrides })
const found = (desired: DesiredApp, cvms: ReadonlyArray<ObservedCvm>) =>
  diffApp(desired, Observation.found(observedApp(cvms, { appId: desired.appId })))
const stopped = (desired: DesiredApp = app(), uuid = UUID) => found(desired, [cvm({ vmUuid: uuid, status: "stopped" })])
const running = (desired: DesiredApp = app(), uuid = UUID) => found(desired, [cvm({ vmUuid: uuid })])
const starting = (desired: DesiredApp = app()) => found(desired, [cvm({ status: "starting" })])
const unknown = (desired: DesiredApp = app()) =>
  diffApp(desired, Observation.failed(new FetchFailure({ appId: desired.appId, reason: "timeout", status: null, message: "timed out" })))

/** The table in its simplest form: start what should run and is stopped (the real table lives in Plan/Actions). */
const table = (report: AppReport): ReadonlyArray<Candidate> =>
  report.drifts.flatMap((d) =>
    d.kind === "status" && d.vmUuid !== null && d.actual === "stopped"
      ? [{ app_id: report.appId, vm_uuid: d.vmUuid, cvm_name: d.cvmName, action: "start" as const, from: d.actual, to: "running" as const }]
      : []
  )

const settings = (overrides: Partial<RemediationSettings> = {}): RemediationSettings => ({
  ...defaultRemediation,
  enabled: true,
  cooldown: Duration.minutes(10),
  ...overrides
})

/** Feeds each cycle's state into the next, the clock from the TestClock. */
const cycles = (s: RemediationSettings, start: RemediationState = new Map()) => {
  let state = start
  return (...reports: ReadonlyArray<AppReport>) =>
    Effect.map(Clock.currentTimeMillis, (now): Decisions => {
      const result = decide({ reports, candidates: table, settings: s, state, now })
      state = result.state
      return result
    })
}
const reasons = (d: Decisions) => d.record.map((r) => (r.outcome._tag === "Skip" ? r.outcome.reason : r.outcome._tag))
const advance = (d: Duration.DurationInput) => TestClock.adjust(d)

describe("self-healing decisions", () => {
  it.effect("acts only once the drift has held for the app's `for`, and records the wait once", () =>
    Effect.gen(function*() {
      const next = cycles(settings())
      const first = yield* next(stopped())
      expect(first.act).toHaveLength(0)
      expect(reasons(first)).toEqual(["not_held"])
      yield* advance("30 seconds")
      const second = yield* next(stopped())
      expect(second.act).toHaveLength(0)
      expect(second.record).toHaveLength(0)
      yield* advance("30 seconds")
      const third = yield* next(stopped())
      expect(third.act.map((d) => [d.candidate.action, d.candidate.vm_uuid, d.attempt])).toEqual([["start", UUID, 1]])
    }))

  it.effect("does nothing when disabled globally or for the app", () =>
    Effect.gen(function*() {
      const off = cycles(settings({ enabled: false }))
      yield* off(stopped())
      yield* advance("5 minutes")
      expect((yield* off(stopped())).act).toHaveLength(0)
      const notApp = cycles(settings())
      yield* notApp(stopped(app({ remediate: false })))
      yield* advance("5 minutes")
      const d = yield* notApp(stopped(app({ remediate: false })))
      expect(d.act).toHaveLength(0)
      expect(d.record).toHaveLength(0)
    }))

  it.effect("per-CVM cooldown between two actions of an incident", () =>
    Effect.gen(function*() {
      const next = cycles(settings({ cooldown: Duration.minutes(10) }))
      yield* next(stopped())
      yield* advance("1 minute")
      expect((yield* next(stopped())).act).toHaveLength(1)
      yield* advance("1 minute")
      yield* next(starting())
      yield* advance("1 minute")
      const cooling = yield* next(stopped())
      expect(cooling.act).toHaveLength(0)
      expect(reasons(cooling)).toEqual(["cooldown"])
      yield* advance("7 minutes")
      expect((yield* next(stopped())).act).toHaveLength(0)
      yield* advance("1 minute")
      const again = yield* next(stopped())
      expect(again.act.map((d) => d.attempt)).toEqual([2])
    }))

  it.effect("max_attempts per incident, then gives up once and reports the CVM as failed until the drift clears", () =>
    Effect.gen(function*() {
      const next = cycles(settings({ maxAttempts: 2, cooldown: Duration.minutes(1) }))
      yield* next(stopped())
      const attempts: Array<number> = []
      let last: Decisions | undefined
      for (let i = 0; i < 5; i++) {
        yield* advance("1 minute")
        last = yield* next(stopped())
        attempts.push(...last.act.map((d) => d.attempt))
        if (i === 2) expect(reasons(last)).toEqual(["max_attempts"])
      }
      expect(attempts).toEqual([1, 2])
      expect(last?.record).toHaveLength(0)
      expect(last?.failed.map((f) => [f.vmUuid, f.attempts])).toEqual([[UUID, 2]])
      yield* advance("1 minute")
      const healed = yield* next(running())
      expect(healed.failed).toHaveLength(0)
      // a new incident starts with fresh attempts (after `for` and the cooldown)
      yield* next(stopped())
      yield* advance("1 minute")
      expect((yield* next(stopped())).act.map((d) => d.attempt)).toEqual([1])
    }))

  it.effect("dry_run decides and records, acts never, and repeats a dry run only after the cooldown", () =>
    Effect.gen(function*() {
      const next = cycles(settings({ dryRun: true, cooldown: Duration.minutes(5) }))
      yield* next(stopped())
      yield* advance("1 minute")
      const d = yield* next(stopped())
      expect(d.act).toHaveLength(0)
      expect(reasons(d)).toEqual(["DryRun"])
      yield* advance("1 minute")
      expect(reasons(yield* next(stopped()))).toEqual(["cooldown"])
      yield* advance("4 minutes")
      const again = yield* next(stopped())
      expect(reasons(again)).toEqual(["DryRun"])
      // dry runs never use up attempts
      expect(again.record[0]?.attempt).toBe(1)
      expect(again.failed).toHaveLength(0)
    }))

  it.effect("never in a maintenance window; acts once the window has ended", () =>
    Effect.gen(function*() {
      const t0 = yield* Clock.currentTimeMillis
      const windowed = app({ maintenance: [{ start: new Date(t0), end: new Date(t0 + 5 * 60_000) }] })
      const next = cycles(settings())
      expect(reasons(yield* next(stopped(windowed)))).toEqual(["maintenance"])
      yield* advance("2 minutes")
      const inWindow = yield* next(stopped(windowed))
      expect(inWindow.act).toHaveLength(0)
      // recorded once, not every cycle
      expect(inWindow.record).toHaveLength(0)
      yield* advance("3 minutes")
      expect((yield* next(stopped(windowed))).act).toHaveLength(1)
    }))

  it.effect("never while the app is unknown; the incident is held, not restarted", () =>
    Effect.gen(function*() {
      const next = cycles(settings())
      yield* next(stopped())
      yield* advance("1 minute")
      const blind = yield* next(unknown())
      expect(blind.act).toHaveLength(0)
      expect(reasons(blind)).toEqual(["unknown"])
      yield* advance("1 minute")
      expect((yield* next(unknown())).record).toHaveLength(0)
      yield* advance("1 minute")
      const back = yield* next(stopped())
      expect(back.act.map((d) => d.incidentSince)).toEqual([(yield* Clock.currentTimeMillis) - 3 * 60_000])
    }))

  it.effect("max_actions_per_cycle: the rest waits and is recorded, then goes next cycle", () =>
    Effect.gen(function*() {
      const a = app()
      const b = app({ appId: APP2 as DesiredApp["appId"], name: "other" })
      const next = cycles(settings({ maxActionsPerCycle: 1, cooldown: Duration.minutes(10) }))
      yield* next(stopped(a), stopped(b, UUID2))
      yield* advance("1 minute")
      const first = yield* next(stopped(a), stopped(b, UUID2))
      expect(first.act.map((d) => d.candidate.vm_uuid)).toEqual([UUID])
      expect(reasons(first)).toEqual(["max_per_cycle"])
      yield* advance("30 seconds")
      const second = yield* next(starting(a), stopped(b, UUID2))
      expect(second.act.map((d) => d.candidate.vm_uuid)).toEqual([UUID2])
    }))

  it.effect("restored records: an intent counts as taken, its cooldown holds after a restart", () =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const state = restoreState([{
        candidate: { app_id: app().appId, vm_uuid: UUID, cvm_name: "payments-api", action: "start", from: "stopped", to: "running" },
        appId: app().appId,
        appName: "payments-api",
        vmUuid: UUID,
        cvmName: "payments-api",
        at: now - 60_000,
        kind: "taken",
        attempt: 1,
        incidentSince: now - 3 * 60_000
      }])
      const next = cycles(settings({ cooldown: Duration.minutes(10) }), state)
      const after = yield* next(stopped())
      expect(after.act).toHaveLength(0)
      expect(reasons(after)).toEqual(["cooldown"])
      yield* advance("9 minutes")
      const later = yield* next(stopped())
      expect(later.act.map((d) => d.attempt)).toEqual([2])
    }))
})
