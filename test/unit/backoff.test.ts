import { Duration } from "effect"
import { describe, expect, it } from "vitest"
import { backoffDelay } from "../../src/Core/Backoff.js"

describe("backoffDelay", () => {
  const backoff = { base: Duration.millis(250), cap: Duration.seconds(10) }
  const ms = (attempt: number, jitter: number) => Duration.toMillis(backoffDelay(backoff, attempt, jitter))

  it("doubles from the base, jittered, and stops at the cap", () => {
    expect([1, 2, 3, 4].map((n) => ms(n, 1))).toEqual([250, 500, 1000, 2000])
    expect(ms(1, 0.8)).toBe(200)
    expect(ms(3, 1.2)).toBe(1200)
    expect(ms(10, 1)).toBe(10_000)
    expect(ms(10, 0.8)).toBe(10_000)
  })

  it("never overflows, however many attempts", () => {
    expect(ms(10_000, 1.2)).toBe(10_000)
    expect(ms(0, 1)).toBe(250)
  })
})
