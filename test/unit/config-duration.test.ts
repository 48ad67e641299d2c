import { describe, expect, it } from "@effect/vitest"
import { Duration, Either } from "effect"
import { formatDuration, parseDuration } from "../../src/Core/Domain/Duration.js"
import { interpolate, resolveCoreScalar } from "../../src/Config/Interpolate.js"

describe("parseDuration", () => {
  const valid: ReadonlyArray<readonly [string, number]> = [
    ["500ms", 500],
    ["30s", 30_000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["1m30s", 90_000],
    ["1s500ms", 1_500],
    ["2h0m5s", 7_205_000],
    ["0s", 0],
    ["0", 0]
  ]
  it.each(valid)("reads %s", (text, millis) => {
    const parsed = parseDuration(text)
    expect(Either.isRight(parsed) && Duration.toMillis(parsed.right)).toBe(millis)
  })

  const invalid = ["10", "1d", "-5s", "abc", "", "30 seconds", "1.5h", "30m1h", "1m1m", "s", "5S", "1w"]
  it.each(invalid)("rejects %j", (text) => {
    expect(parseDuration(text)).toEqual(
      Either.left(`invalid duration ${JSON.stringify(text)} (use e.g. 500ms, 30s, 2m, 1h)`)
    )
  })

  it("formats in the notation it reads", () => {
    expect(formatDuration(Duration.millis(5_400_000))).toBe("1h30m")
    expect(formatDuration(Duration.millis(1_500))).toBe("1s500ms")
    expect(formatDuration(Duration.zero)).toBe("0s")
  })
})

describe("interpolate", () => {
  const env = { A: "alpha", EMPTY: "", N: "3" }
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["${A}", "alpha"],
    ["x-${A}-y", "x-alpha-y"],
    ["${MISSING:-fallback}", "fallback"],
    ["${EMPTY:-fallback}", "fallback"],
    ["${EMPTY}", ""],
    ["${MISSING:-${A}}", "alpha"],
    ["$${A}", "${A}"],
    ["cost: 5$", "cost: 5$"],
    ["a$$b", "a$b"]
  ]
  it.each(cases)("expands %j", (text, expected) => {
    const result = interpolate(text, env)
    expect(result._tag === "Done" && result.value).toBe(expected)
  })

  it("names unset variables and never their values", () => {
    expect(interpolate("${A}${NOPE}${NOPE2}", env)).toEqual({
      _tag: "Failed",
      reasons: ["environment variable NOPE is not set", "environment variable NOPE2 is not set"]
    })
  })

  it("rejects malformed references", () => {
    expect(interpolate("${1X}", env)._tag).toBe("Failed")
    expect(interpolate("${A", env)._tag).toBe("Failed")
    expect(interpolate("${}", env)._tag).toBe("Failed")
  })

  it("re-reads unquoted scalars the way YAML 1.2 does", () => {
    expect(resolveCoreScalar("3")).toBe(3)
    expect(resolveCoreScalar("true")).toBe(true)
    expect(resolveCoreScalar("False")).toBe(false)
    expect(resolveCoreScalar("")).toBe(null)
    expect(resolveCoreScalar("0x1f")).toBe(31)
    expect(resolveCoreScalar("1.5")).toBe(1.5)
    expect(resolveCoreScalar("30s")).toBe("30s")
  })
})
