import { Duration } from "effect"
import { describe, expect, it } from "vitest"
import { adoptQueued } from "../../src/Core/Alerting/Adopt.js"
import { decide, type DeliveryPolicy, freshHead, nextItem } from "../../src/Core/Alerting/Delivery.js"
import type { AlertEvent, FiringAlert, ResolvedAlert } from "../../src/Core/Domain/Alert.js"

const policy: DeliveryPolicy = {
  backoff: { base: Duration.seconds(1), cap: Duration.seconds(30) },
  permanentBackoff: Duration.minutes(5),
  deadLetterAfter: Duration.hours(24)
}
const transient = { _tag: "Refused", transient: true } as const
const permanent = { _tag: "Refused", transient: false } as const
const hour = 3_600_000

describe("delivery decisions", () => {
  it("backs off after transient failures, doubling to the cap, and starts over after a success", () => {
    const [first, afterOne] = decide(freshHead, transient, 0, policy, 1)
    const [second, afterTwo] = decide(afterOne, transient, 1_000, policy, 1)
    const [tenth] = decide({ transientFailures: 9, permanentSince: null }, transient, 0, policy, 1)
    expect([first, second, tenth]).toEqual([
      { _tag: "RetryAfter", wait: Duration.seconds(1), result: "retry" },
      { _tag: "RetryAfter", wait: Duration.seconds(2), result: "retry" },
      { _tag: "RetryAfter", wait: Duration.seconds(30), result: "retry" }
    ])
    expect(decide(afterTwo, { _tag: "Accepted" }, 2_000, policy, 1)).toEqual([{ _tag: "Delivered" }, freshHead])
  })

  it("keeps a permanently refused item, retried every permanentBackoff, and dead-letters it after deadLetterAfter", () => {
    const [first, held] = decide(freshHead, permanent, 0, policy, 1)
    expect(first).toEqual({ _tag: "RetryAfter", wait: Duration.minutes(5), result: "failure" })
    expect(held.permanentSince).toBe(0)
    const [stillHeld, later] = decide(held, permanent, 23 * hour, policy, 1)
    expect(stillHeld._tag).toBe("RetryAfter")
    expect(decide(later, permanent, 24 * hour, policy, 1)).toEqual([{ _tag: "DeadLetter" }, freshHead])
    // a transient failure ends a run of permanent refusals: the 24 hours start again at the next one
    const [, reset] = decide(later, transient, 23 * hour, policy, 1)
    expect(decide(reset, permanent, 24 * hour, policy, 1)[0]._tag).toBe("RetryAfter")
  })

  it("delivers strictly in order: a held head holds everything behind it", () => {
    expect(nextItem([])).toBeNull()
    expect(nextItem([{ item: 1, held: false }, { item: 2, held: false }])).toBe(1)
    expect(nextItem([{ item: 1, held: true }, { item: 2, held: false }])).toBeNull()
  })
})

describe("adoptQueued", () => {
  const firing = (activeAt: number, fingerprint = "a"): FiringAlert => ({
    fingerprint,
    name: "PhalaAppMissing",
    labels: { alertname: "PhalaAppMissing" },
    annotations: {},
    activeAt,
    lastActiveAt: activeAt,
    silenced: false,
    state: "firing",
    firedAt: activeAt,
    resolvedAt: null,
    announced: true
  })
  const resolved = (alert: FiringAlert, at: number): ResolvedAlert => ({ ...alert, state: "resolved", resolvedAt: at })
  const fired = (alert: FiringAlert): AlertEvent => ({ kind: "firing", alert, at: alert.firedAt })
  const ended = (alert: ResolvedAlert): AlertEvent => ({ kind: "resolved", alert, at: alert.resolvedAt })

  it("takes in what was queued after the state was saved", () => {
    const alert = firing(1_000)
    expect(adoptQueued(new Map(), 500, [fired(alert)])).toEqual(new Map([["a", alert]]))
    expect(adoptQueued(new Map(), null, [fired(alert), ended(resolved(alert, 2_000))])).toEqual(new Map([["a", resolved(alert, 2_000)]]))
  })

  it("never takes an event the saved state already reflects, or one older than what it knows", () => {
    const old = firing(1_000)
    const current = firing(5_000)
    // saved after the event: already in it (or dropped since, on purpose)
    expect(adoptQueued(new Map(), 1_000, [fired(old)])).toEqual(new Map())
    // the saved state knows a later episode: an old event left in the queue does not turn it back
    expect(adoptQueued(new Map([["a", current]]), null, [ended(resolved(old, 2_000))])).toEqual(new Map([["a", current]]))
    // the same episode further along wins, not the other way round
    expect(adoptQueued(new Map([["a", resolved(current, 6_000)]]), null, [fired(current)]).get("a")?.state).toBe("resolved")
  })
})
