import { Duration, Either, ParseResult, Schema } from "effect"
import { echo } from "../Echo.js"

const unitMillis = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const
type Unit = keyof typeof unitMillis
// Largest unit first: each unit may appear at most once and in this order, as in Prometheus durations.
const unitOrder: ReadonlyArray<Unit> = ["h", "m", "s", "ms"]
const isUnit = (u: string): u is Unit => Object.prototype.hasOwnProperty.call(unitMillis, u)

export const durationHint = "use e.g. 500ms, 30s, 2m, 1h"

/**
 * The one duration grammar (config keys and simulator scenarios alike), Prometheus' own: `500ms`, `30s`, `2m`, `1h`,
 * and compounds such as `1h30m` or `1s500ms`; whole numbers only (`1.5s` is `1s500ms`). `0` alone means zero; every
 * other number needs a unit. Fails with a short reason that never echoes more than the input.
 */
export const parseDuration = (text: string): Either.Either<Duration.Duration, string> => {
  const input = text.trim()
  const invalid = Either.left(`invalid duration ${echo(text)} (${durationHint})`)
  if (input === "0") return Either.right(Duration.zero)
  if (!/^(\d+(ms|h|m|s))+$/.test(input)) return invalid
  let total = 0
  let lastRank = -1
  for (const [, digits = "", unit = ""] of input.matchAll(/(\d+)(ms|h|m|s)/g)) {
    if (!isUnit(unit)) return invalid
    const rank = unitOrder.indexOf(unit)
    if (rank <= lastRank) return invalid
    lastRank = rank
    total += Number(digits) * unitMillis[unit]
  }
  if (!Number.isSafeInteger(total)) return invalid
  return Either.right(Duration.millis(total))
}

/** Renders a duration in the same notation `parseDuration` reads (`1h30m`, `500ms`). */
export const formatDuration = (duration: Duration.Duration): string => {
  let rest = Duration.toMillis(duration)
  if (rest === 0) return "0s"
  let out = ""
  for (const unit of unitOrder) {
    const n = Math.floor(rest / unitMillis[unit])
    if (n > 0) {
      out += `${n}${unit}`
      rest -= n * unitMillis[unit]
    }
  }
  return out
}

/** A duration written as text, in milliseconds: the scenario format's durations. */
export const DurationMillis = Schema.transformOrFail(Schema.String, Schema.Number, {
  strict: true,
  decode: (text, _, ast) =>
    Either.match(parseDuration(text), {
      onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, text, message)),
      onRight: (duration) => ParseResult.succeed(Duration.toMillis(duration))
    }),
  encode: (millis) => ParseResult.succeed(formatDuration(Duration.millis(millis)))
}).annotations({ identifier: "Duration" })
