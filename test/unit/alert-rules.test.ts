import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, TestClock } from "effect"
import { evaluate, evaluateApp, type Evaluation } from "../../src/Core/Alerting/Rules.js"
import type { Alert, AlertEvent, AlertName } from "../../src/Core/Domain/Alert.js"
import type { DesiredApp } from "../../src/Core/Domain/App.js"
import { FetchFailure, Observation } from "../../src/Core/Domain/Observation.js"
import type { ObservedCvm } from "../../src/Core/Domain/Observation.js"
import type { AppReport, Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { APP_ID, cvm, desiredApp, observedApp, twoReplicas } from "../support/builders.js"
import { fleetApp } from "../support/fleet.js"

const URL = "http://phala-drift.example:9477"
const T0 = Date.parse("2026-12-01T00:00:00Z")
const sec = (n: number) => n * 1000
const min = (n: number) => n * 60_000
const APP2 = "0123456789abcdef0123456789abcdef01234567"

const snapshot = (...apps: ReadonlyArray<AppReport>): Snapshot => ({ generatedAt: new Date(T0), apps })
const found = (desired: DesiredApp, cvms: ReadonlyArray<ObservedCvm>) =>
  diffApp(desired, Observation.found(observedApp(cvms, { appId: desired.appId })))
const failed = (desired: DesiredApp) =>
  diffApp(desired, Observation.failed(new FetchFailure({ appId: desired.appId, reason: "rate_limited", status: 429, message: "slow down" })))
const healthy = (desired: DesiredApp = desiredApp()) => found(desired, twoReplicas())
const oneStopped = (desired: DesiredApp = desiredApp()) =>
  found(desired, [cvm(), cvm({ vmUuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51", name: "payments-api-replica-1", status: "Stopped" })])

/** Runs evaluations in sequence, feeding each result into the next. */
const run = (steps: ReadonlyArray<readonly [number, Snapshot]>, start: ReadonlyMap<string, Alert> = new Map()) => {
  let alerts = start
  const results: Array<Evaluation> = []
  for (const [now, snap] of steps) {
    const result = evaluate({ snapshot: snap, previous: alerts, now, externalUrl: URL })
    results.push(result)
    alerts = result.alerts
  }
  return results
}
const last = (results: ReadonlyArray<Evaluation>): Evaluation => {
  const result = results[results.length - 1]
  if (result === undefined) throw new Error("no evaluation")
  return result
}
const named = (e: Evaluation, name: AlertName): ReadonlyArray<Alert> => [...e.alerts.values()].filter((a) => a.name === name)
const only = (e: Evaluation, name: AlertName): Alert => {
  const alerts = named(e, name)
  expect(alerts).toHaveLength(1)
  const [alert] = alerts
  if (alert === undefined) throw new Error("unreachable")
  return alert
}
const kinds = (events: ReadonlyArray<AlertEvent>) => events.map((e) => `${e.kind}:${e.alert.name}`)

describe("pending → firing → resolved", () => {
  const app = desiredApp({ for: Duration.minutes(2) })

  it("a new condition is pending, fires once `for` has elapsed, and emits one firing event", () => {
    const results = run([[T0, snapshot(oneStopped(app))], [T0 + min(1), snapshot(oneStopped(app))], [T0 + min(2), snapshot(oneStopped(app))], [
      T0 + min(3),
      snapshot(oneStopped(app))
    ]])
    const [first, second, third, fourth] = results
    if (!first || !second || !third || !fourth) throw new Error("missing")
    expect(only(first, "PhalaCvmStatusDrift")).toMatchObject({ state: "pending", activeAt: T0, firedAt: null, announced: false })
    expect(first.events).toEqual([])
    expect(only(second, "PhalaCvmStatusDrift").state).toBe("pending")
    expect(only(third, "PhalaCvmStatusDrift")).toMatchObject({ state: "firing", activeAt: T0, firedAt: T0 + min(2), announced: true })
    expect(kinds(third.events)).toEqual(["firing:PhalaCvmStatusDrift"])
    expect(third.events[0]?.at).toBe(T0 + min(2))
    expect(only(fourth, "PhalaCvmStatusDrift")).toMatchObject({ state: "firing", firedAt: T0 + min(2), lastActiveAt: T0 + min(3) })
    expect(fourth.events).toEqual([])
  })

  it("for: 0 fires on the first evaluation", () => {
    const zero = desiredApp({ for: Duration.zero })
    const [first] = run([[T0, snapshot(oneStopped(zero))]])
    expect(first && only(first, "PhalaCvmStatusDrift").state).toBe("firing")
    expect(first && kinds(first.events)).toEqual(["firing:PhalaCvmStatusDrift"])
  })

  it("a pending alert whose condition clears before `for` is dropped without an event", () => {
    const result = last(run([[T0, snapshot(oneStopped(app))], [T0 + min(1), snapshot(healthy(app))]]))
    expect(result.alerts.size).toBe(0)
    expect(result.events).toEqual([])
  })

  it("a firing alert whose condition clears resolves with an event and is kept 15 minutes", () => {
    const results = run([
      [T0, snapshot(oneStopped(app))],
      [T0 + min(2), snapshot(oneStopped(app))],
      [T0 + min(3), snapshot(healthy(app))],
      [T0 + min(3) + min(15) - 1, snapshot(healthy(app))],
      [T0 + min(3) + min(15), snapshot(healthy(app))]
    ])
    const [, , resolved, kept, dropped] = results
    expect(resolved && only(resolved, "PhalaCvmStatusDrift")).toMatchObject({ state: "resolved", resolvedAt: T0 + min(3), firedAt: T0 + min(2) })
    expect(resolved && kinds(resolved.events)).toEqual(["resolved:PhalaCvmStatusDrift"])
    expect(kept && only(kept, "PhalaCvmStatusDrift").state).toBe("resolved")
    expect(kept?.events).toEqual([])
    expect(dropped?.alerts.size).toBe(0)
    expect(dropped?.events).toEqual([])
  })

  it("a condition back after resolving starts a new episode at pending", () => {
    const results = run([
      [T0, snapshot(oneStopped(app))],
      [T0 + min(2), snapshot(oneStopped(app))],
      [T0 + min(3), snapshot(healthy(app))],
      [T0 + min(5), snapshot(oneStopped(app))],
      [T0 + min(7), snapshot(oneStopped(app))]
    ])
    const [, firing, , again, refired] = results
    const fp = firing && only(firing, "PhalaCvmStatusDrift").fingerprint
    expect(again && only(again, "PhalaCvmStatusDrift")).toMatchObject({
      fingerprint: fp,
      state: "pending",
      activeAt: T0 + min(5),
      firedAt: null,
      resolvedAt: null,
      announced: false
    })
    expect(again?.events).toEqual([])
    expect(refired && only(refired, "PhalaCvmStatusDrift")).toMatchObject({ state: "firing", activeAt: T0 + min(5), firedAt: T0 + min(7) })
    expect(refired && kinds(refired.events)).toEqual(["firing:PhalaCvmStatusDrift"])
  })

  it("keep_firing_for keeps a cleared alert firing until it has elapsed since the condition was last true", () => {
    const keep = desiredApp({ for: Duration.zero, keepFiringFor: Duration.minutes(5) })
    const results = run([
      [T0, snapshot(oneStopped(keep))],
      [T0 + min(1), snapshot(healthy(keep))],
      [T0 + min(4) + sec(59), snapshot(healthy(keep))],
      [T0 + min(5), snapshot(healthy(keep))]
    ])
    const [, cleared, stillKept, resolved] = results
    expect(cleared && only(cleared, "PhalaCvmStatusDrift")).toMatchObject({ state: "firing", lastActiveAt: T0 })
    expect(cleared?.events).toEqual([])
    expect(stillKept && only(stillKept, "PhalaCvmStatusDrift").state).toBe("firing")
    expect(resolved && only(resolved, "PhalaCvmStatusDrift")).toMatchObject({ state: "resolved", resolvedAt: T0 + min(5) })
    expect(resolved && kinds(resolved.events)).toEqual(["resolved:PhalaCvmStatusDrift"])
  })

  it("a condition true again within keep_firing_for continues the same firing episode", () => {
    const keep = desiredApp({ for: Duration.zero, keepFiringFor: Duration.minutes(5) })
    const result = last(run([[T0, snapshot(oneStopped(keep))], [T0 + min(1), snapshot(healthy(keep))], [T0 + min(2), snapshot(oneStopped(keep))]]))
    expect(only(result, "PhalaCvmStatusDrift")).toMatchObject({ state: "firing", activeAt: T0, firedAt: T0, lastActiveAt: T0 + min(2) })
    expect(result.events).toEqual([])
  })
})

describe("unknown apps", () => {
  const app = desiredApp({ for: Duration.minutes(2) })

  it("hold a pending drift alert as it was: it does not fire while nothing is observed", () => {
    const results = run([
      [T0, snapshot(oneStopped(app))],
      [T0 + min(1), snapshot(failed(app))],
      [T0 + min(10), snapshot(failed(app))]
    ])
    const [first, , held] = results
    expect(held && only(held, "PhalaCvmStatusDrift")).toEqual(first && only(first, "PhalaCvmStatusDrift"))
    expect(held && kinds(held.events)).toEqual(["firing:PhalaAppUnobservable"])
  })

  it("a held pending alert keeps its activeAt: observed again and still true past `for`, it fires", () => {
    const result = last(run([
      [T0, snapshot(oneStopped(app))],
      [T0 + min(1), snapshot(failed(app))],
      [T0 + min(4), snapshot(oneStopped(app))]
    ]))
    expect(only(result, "PhalaCvmStatusDrift")).toMatchObject({ state: "firing", activeAt: T0, firedAt: T0 + min(4) })
  })

  it("hold a firing alert: no false resolve, even past keep_firing_for", () => {
    const keep = desiredApp({ for: Duration.zero, keepFiringFor: Duration.minutes(1) })
    const results = run([
      [T0, snapshot(oneStopped(keep))],
      [T0 + min(1), snapshot(failed(keep))],
      [T0 + min(30), snapshot(failed(keep))]
    ])
    const [first, , held] = results
    expect(held && only(held, "PhalaCvmStatusDrift")).toEqual(first && only(first, "PhalaCvmStatusDrift"))
    expect(held?.events.filter((e) => e.alert.name !== "PhalaAppUnobservable")).toEqual([])
  })

  it("PhalaAppUnobservable is pending, fires after `for`, and resolves once the app is observed", () => {
    const results = run([
      [T0, snapshot(failed(app))],
      [T0 + min(2), snapshot(failed(app))],
      [T0 + min(3), snapshot(healthy(app))]
    ])
    const [first, firing, back] = results
    expect(first && only(first, "PhalaAppUnobservable").state).toBe("pending")
    const alert = firing && only(firing, "PhalaAppUnobservable")
    expect(alert?.state).toBe("firing")
    expect(alert?.labels).toEqual({ alertname: "PhalaAppUnobservable", severity: "warning", app_id: APP_ID, app_name: "payments-api" })
    expect(alert?.annotations["description"]).toContain("rate_limited (HTTP 429): slow down")
    expect(back && kinds(back.events)).toEqual(["resolved:PhalaAppUnobservable"])
  })
})

describe("conditions, labels and identity", () => {
  const zero = desiredApp({ for: Duration.zero, labels: { team: "payments" }, severity: "critical" })

  it("one status alert per CVM, with the CVM labels and a desired-vs-actual description", () => {
    const both = found(zero, [
      cvm({ status: "stopped" }),
      cvm({ vmUuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51", name: "payments-api-replica-1", status: "error" })
    ])
    const [result] = run([[T0, snapshot(both)]])
    const alerts = result ? named(result, "PhalaCvmStatusDrift") : []
    expect(alerts).toHaveLength(2)
    expect(alerts.map((a) => a.labels["vm_uuid"]).sort()).toEqual(["16d247ca-23f5-4ffa-b590-7f732eddbf51", "c48d9363-21b2-4f4a-87d9-3496623f020d"])
    const first = alerts.find((a) => a.labels["cvm_name"] === "payments-api")
    expect(first?.labels).toEqual({
      alertname: "PhalaCvmStatusDrift",
      severity: "critical",
      app_id: APP_ID,
      app_name: "payments-api",
      team: "payments",
      vm_uuid: "c48d9363-21b2-4f4a-87d9-3496623f020d",
      cvm_name: "payments-api"
    })
    expect(first?.annotations).toEqual({
      summary: "CVM payments-api of payments-api is stopped, desired running",
      description: `CVM payments-api (c48d9363-21b2-4f4a-87d9-3496623f020d) of app payments-api (${APP_ID}) is stopped, desired running (health degraded)`,
      plan_url: `${URL}/?app=${APP_ID}#app-${APP_ID}`
    })
  })

  it("one attribute alert per CVM listing every differing field", () => {
    const app = desiredApp({ for: Duration.zero, cvm: { instance_type: "tdx.large", vcpu: 4, region: "EU-WEST-1" } })
    const [result] = run([[T0, snapshot(found(app, [cvm({ instanceType: "tdx.medium", vcpu: 2 }), cvm({ vmUuid: "u2", name: "b" })]))]])
    const alert = result && only(result, "PhalaCvmAttributeDrift")
    expect(alert?.labels["cvm_name"]).toBe("payments-api")
    expect(alert?.annotations["description"]).toBe(
      `CVM payments-api (c48d9363-21b2-4f4a-87d9-3496623f020d) of app payments-api (${APP_ID}) differs from its desired attributes: instance_type tdx.large → tdx.medium; vcpu 4 → 2`
    )
  })

  it("missing app and replica mismatch", () => {
    const [result] = run([[T0, snapshot(diffApp(zero, Observation.notFound), found({ ...zero, appId: APP2 }, [cvm()]))]])
    expect(result && kinds(result.events).sort()).toEqual(["firing:PhalaAppMissing", "firing:PhalaAppReplicasMismatch"])
    expect(result && only(result, "PhalaAppReplicasMismatch").annotations["description"]).toBe(
      `App payments-api (${APP2}) has 1 CVM, desired 2`
    )
  })

  it("the fingerprint ignores annotations and CVM order", () => {
    const a = found(zero, [cvm({ status: "stopped" }), cvm({ vmUuid: "u2", name: "b", status: "error" })])
    const b = found(zero, [cvm({ vmUuid: "u2", name: "b", status: "exited" }), cvm({ status: "error" })])
    const results = run([[T0, snapshot(a)], [T0 + min(1), snapshot(b)]])
    const [first, second] = results
    const fps = (e: Evaluation | undefined) => (e ? named(e, "PhalaCvmStatusDrift").map((x) => x.fingerprint).sort() : [])
    expect(fps(second)).toEqual(fps(first))
    expect(second?.events).toEqual([])
    const refreshed = second && named(second, "PhalaCvmStatusDrift").find((x) => x.labels["cvm_name"] === "b")
    expect(refreshed).toMatchObject({ state: "firing", firedAt: T0 })
    expect(refreshed?.annotations["description"]).toContain("is exited, desired running")
  })

  it("alerts of an app gone from the snapshot resolve (firing) or vanish (pending)", () => {
    const other = desiredApp({ appId: APP2, name: "billing", for: Duration.minutes(5) })
    const results = run([
      [T0, snapshot(oneStopped(zero), oneStopped(other))],
      [T0 + min(1), snapshot()]
    ])
    const gone = last(results)
    expect(kinds(gone.events)).toEqual(["resolved:PhalaCvmStatusDrift"])
    expect([...gone.alerts.values()].map((a) => [a.labels["app_id"], a.state])).toEqual([[APP_ID, "resolved"]])
  })
})

describe("maintenance", () => {
  const window = { start: new Date(T0 + min(10)), end: new Date(T0 + min(20)) }
  const app = desiredApp({ for: Duration.zero, maintenance: [window] })

  it("fires silently inside a window and announces the still-firing alert when the window ends", () => {
    const results = run([
      [T0 + min(10), snapshot(oneStopped(app))],
      [T0 + min(15), snapshot(oneStopped(app))],
      [T0 + min(20), snapshot(oneStopped(app))],
      [T0 + min(21), snapshot(oneStopped(app))]
    ])
    const [inside, stillInside, after, later] = results
    expect(inside && only(inside, "PhalaCvmStatusDrift")).toMatchObject({ state: "firing", silenced: true, announced: false, firedAt: T0 + min(10) })
    expect(inside?.events).toEqual([])
    expect(stillInside?.events).toEqual([])
    expect(after && only(after, "PhalaCvmStatusDrift")).toMatchObject({ silenced: false, announced: true, firedAt: T0 + min(10) })
    expect(after && kinds(after.events)).toEqual(["firing:PhalaCvmStatusDrift"])
    expect(after?.events[0]?.at).toBe(T0 + min(20))
    expect(later?.events).toEqual([])
  })

  it("an alert that fires and resolves inside a window is never sent", () => {
    const results = run([[T0 + min(11), snapshot(oneStopped(app))], [T0 + min(12), snapshot(healthy(app))], [T0 + min(25), snapshot(healthy(app))]])
    expect(results.flatMap((r) => r.events)).toEqual([])
  })

  it("an alert announced before the window still gets its resolution during it, and is not re-announced", () => {
    const results = run([
      [T0 + min(5), snapshot(oneStopped(app))],
      [T0 + min(12), snapshot(oneStopped(app))],
      [T0 + min(21), snapshot(oneStopped(app))],
      [T0 + min(22), snapshot(healthy(app))]
    ])
    expect(results.map((r) => kinds(r.events))).toEqual([["firing:PhalaCvmStatusDrift"], [], [], ["resolved:PhalaCvmStatusDrift"]])
    expect(results[1] && only(results[1], "PhalaCvmStatusDrift").silenced).toBe(true)
  })
})

describe("timers across simulated time", () => {
  it.effect("evaluating every 30s of TestClock time: pending for 2m, firing, then resolved", () =>
    Effect.gen(function*() {
      const app = desiredApp({ for: Duration.minutes(2) })
      yield* TestClock.setTime(T0)
      let alerts: ReadonlyMap<string, Alert> = new Map()
      const log: Array<string> = []
      const tick = (report: AppReport) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const result = evaluate({ snapshot: snapshot(report), previous: alerts, now, externalUrl: URL })
          alerts = result.alerts
          for (const e of result.events) log.push(`${(now - T0) / 1000}s ${e.kind}`)
          yield* TestClock.adjust(Duration.seconds(30))
        })
      for (let i = 0; i < 6; i++) yield* tick(oneStopped(app))
      expect([...alerts.values()].map((a) => a.state)).toEqual(["firing"])
      for (let i = 0; i < 2; i++) yield* tick(healthy(app))
      expect(log).toEqual(["120s firing", "180s resolved"])
    }))
})

describe("evaluateApp: one app's report between cycles", () => {
  const variants = ["in_sync", "stopped", "missing", "unknown", "extra"] as const
  const appOf = (alert: Alert) => alert.labels["app_id"]

  it("moves that app's alerts and events exactly as a whole-snapshot evaluation would, and no other app's", () => {
    // a deterministic walk: cycles over six apps interleaved with single-app re-reads, 20 s apart, `for` 1m
    let seed = 7
    const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    const ids = [1, 2, 3, 4, 5, 6]
    const report = (i: number, variant: (typeof variants)[number]) => {
      const base = fleetApp(i, variant)
      return { ...base, desired: { ...base.desired, for: Duration.minutes(1) } }
    }
    let apps = ids.map((i) => report(i, "in_sync"))
    let alerts: ReadonlyMap<string, Alert> = new Map()
    let singles = 0
    for (let step = 0; step < 300; step++) {
      const now = T0 + sec(20 * step)
      if (step % 5 === 0) {
        apps = ids.map((i) => report(i, variants[next(variants.length)] ?? "in_sync"))
        alerts = evaluate({ snapshot: snapshot(...apps), previous: alerts, now, externalUrl: URL }).alerts
        continue
      }
      const target = next(ids.length)
      const changed = report(ids[target] ?? 1, variants[next(variants.length)] ?? "in_sync")
      apps = apps.map((a, i) => (i === target ? changed : a))
      const whole = evaluate({ snapshot: snapshot(...apps), previous: alerts, now, externalUrl: URL })
      const one = evaluateApp({ report: changed, previous: alerts, now, externalUrl: URL })
      const mine = (m: ReadonlyMap<string, Alert>) => [...m.values()].filter((a) => appOf(a) === changed.appId)
      const others = (m: ReadonlyMap<string, Alert>) => [...m.values()].filter((a) => appOf(a) !== changed.appId)
      expect(mine(one.alerts)).toEqual(mine(whole.alerts))
      expect(one.events).toEqual(whole.events.filter((e) => appOf(e.alert) === changed.appId))
      expect(others(one.alerts)).toEqual(others(alerts))
      if (one.events.length > 0) singles += 1
      alerts = one.alerts
    }
    // the walk did exercise state changes through single-app evaluations
    expect(singles).toBeGreaterThan(10)
  })
})
