import { Duration, Either, ParseResult, Redacted, Schema } from "effect"
import { validate as validateCron, validateDetailed as validateCronDetailed } from "node-cron"
import type { DesiredStatus } from "../Core/Domain/App.js"
import type { ReplicaRange } from "../Core/Domain/ReplicaRange.js"
import { durationHint, formatDuration, parseDuration } from "../Core/Domain/Duration.js"
import { AppId } from "../Core/Domain/AppId.js"
import { leaf } from "../Core/Domain/Leaf.js"
import { ListenAddress } from "../Core/Domain/ListenAddress.js"
import { hasUserinfo, scrub, show } from "../Core/Echo.js"
import { ConfigAnnotation } from "./Shape.js"

export { leaf, show }

/** Ids, names, paths: kept as written even when they look like a number (`name: 2024`). */
const text = { [ConfigAnnotation.staysString]: true }
/** Masked wherever a diagnostic might carry it, and kept as written. */
const secretText = { [ConfigAnnotation.staysString]: true, [ConfigAnnotation.secret]: true }

export const nonEmptyString = leaf(Schema.String, (u) =>
  typeof u === "string" && u.trim() !== "" ? Either.right(u) : Either.left(`must be a non-empty string, got ${show(u)}`))
  .annotations({ ...text, jsonSchema: { type: "string", minLength: 1 } })

/** The SHA-256 of an app compose, as the API reports `compose_hash`: 64 hex characters. */
export const composeHash = leaf(Schema.String, (u) =>
  typeof u === "string" && /^[0-9a-fA-F]{64}$/.test(u)
    ? Either.right(u)
    : Either.left(`must be 64 hex characters (the compose_hash the API reports), got ${show(u)}`))
  .annotations({ ...text, jsonSchema: { type: "string", pattern: "^[0-9a-fA-F]{64}$" } })

/** Label values and the like: any string, including empty. */
export const anyString = leaf(Schema.String, (u) =>
  typeof u === "string" ? Either.right(u) : Either.left(`must be a string, got ${show(u)}`))
  .annotations({ ...text, jsonSchema: { type: "string" } })

/** Never shows the value, not even its type beyond "not a string". */
export const secret = leaf(Schema.RedactedFromSelf(Schema.String), (u) =>
  typeof u === "string" && u !== ""
    ? Either.right(Redacted.make(u))
    : Either.left(typeof u === "string" ? "must not be empty" : "must be a string (quote the value)"))
  .annotations({ ...secretText, jsonSchema: { type: "string", minLength: 1, description: "secret; usually ${VAR}" } })

/** Paths `serve` answers itself; a webhook path must not shadow one of them. */
const reservedPaths: ReadonlySet<string> = new Set(["/", "/healthz", "/readyz", "/metrics", "/api/v1/plan", "/api/v1/alerts", "/api/v1/actions", "/-/reload", "/-/reconcile"])

/** An absolute URL path without query or fragment, such as `/hooks/phala`. */
export const webhookPath = leaf(Schema.String, (u) =>
  typeof u !== "string" || !/^\/[A-Za-z0-9._~\/-]*$/.test(u)
    ? Either.left(`must be a URL path starting with / (letters, digits, ".", "_", "~", "-", "/"), got ${show(u)}`)
    : reservedPaths.has(u)
    ? Either.left(`${u} is an endpoint of phala-drift already; pick another path, e.g. /hooks/phala`)
    : Either.right(u)).annotations({ ...text, jsonSchema: { type: "string", pattern: "^/[A-Za-z0-9._~/-]*$" } })

/** One of a closed set of words, e.g. `api.fetch: auto | list | per_app`. */
export const oneOf = <const L extends string>(values: ReadonlyArray<L>) =>
  leaf(Schema.Literal(...values), (u) => {
    const found = values.find((v) => v === u)
    return found === undefined ? Either.left(`must be one of ${values.join(", ")}, got ${show(u)}`) : Either.right(found)
  }).annotations({ jsonSchema: { type: "string", enum: [...values] } })

export const boolean = leaf(Schema.Boolean, (u) =>
  typeof u === "boolean" ? Either.right(u) : Either.left(`must be true or false, got ${show(u)}`))
  .annotations({ jsonSchema: { type: "boolean" } })

export const integer = (min: number, max: number) =>
  leaf(Schema.Number, (u) =>
    typeof u === "number" && Number.isInteger(u) && u >= min && u <= max
      ? Either.right(u)
      : Either.left(
        max === Number.MAX_SAFE_INTEGER
          ? `must be an integer >= ${min}, got ${show(u)}`
          : `must be an integer between ${min} and ${max}, got ${show(u)}`
      )).annotations({
      jsonSchema: max === Number.MAX_SAFE_INTEGER ? { type: "integer", minimum: min } : { type: "integer", minimum: min, maximum: max }
    })

/**
 * A duration between `min` and `max`. Every duration key has a maximum: an absurd value (`700000000h`) would
 * otherwise pass here and break later, e.g. as a date beyond what `Date` can hold.
 */
export const duration = (options: {
  readonly min: Duration.Duration
  readonly exclusive?: boolean
  readonly max: Duration.Duration
}) =>
  leaf(Schema.DurationFromSelf, (u) => {
    const parsed = typeof u === "string" || typeof u === "number" ? parseDuration(String(u)) : Either.left(
      `invalid duration ${show(u)} (${durationHint})`
    )
    return Either.flatMap(parsed, (d) => {
      if (options.exclusive === true && !Duration.greaterThan(d, options.min)) {
        return Either.left(`must be longer than ${formatDuration(options.min)}, got ${show(u)}`)
      }
      if (Duration.lessThan(d, options.min)) {
        return Either.left(`must be at least ${formatDuration(options.min)}, got ${show(u)}`)
      }
      if (Duration.greaterThan(d, options.max)) {
        return Either.left(`must be at most ${formatDuration(options.max)}, got ${show(u)}`)
      }
      return Either.right(d)
    })
  }).annotations({
    jsonSchema: {
      type: "string",
      pattern: "^(0|(\\d+(ms|h|m|s))+)$",
      description: `a duration, e.g. 500ms, 30s, 2m, 1h30m; from ${formatDuration(options.min)} to ${formatDuration(options.max)}`
    }
  })

export const userinfoMessage =
  "must not contain a user name or password (user:password@host): fetch cannot send them, and they would show " +
  "in logs (value not shown)"

/** An http(s) URL without credentials in it; messages never show a value that carries some. */
export const httpUrl = (what: string) => (u: unknown): Either.Either<string, string> => {
  if (typeof u === "string") {
    const url = URL.canParse(u) ? new URL(u) : null
    if (url !== null && (url.protocol === "http:" || url.protocol === "https:")) {
      return url.username !== "" || url.password !== ""
        ? Either.left(`${what}${userinfoMessage}`)
        : Either.right(u.replace(/\/+$/, ""))
    }
    if (hasUserinfo(u)) return Either.left(`${what}is not an http(s) URL without credentials (value not shown)`)
  }
  return Either.left(`${what}${show(u)} is not an http(s) URL`)
}

const urlJsonSchema = { type: "string", format: "uri", pattern: "^https?://" }

export const apiUrl = leaf(Schema.String, httpUrl("")).annotations({ jsonSchema: urlJsonSchema })

export const apiVersion = leaf(Schema.String, (u) =>
  typeof u === "string" && /^\d{4}-\d{2}-\d{2}$/.test(u)
    ? Either.right(u)
    : Either.left(`must be a date like "2025-10-28", got ${show(u)}`))
  .annotations({ ...text, jsonSchema: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" } })

export const cron = leaf(Schema.String, (u) => {
  if (typeof u === "string" && validateCron(u)) return Either.right(u)
  if (typeof u !== "string") return Either.left(`must be a cron expression string, got ${show(u)}`)
  const detail = scrub(validateCronDetailed(u).errors.map((e) => e.message).join("; "))
  return Either.left(
    `invalid cron expression ${show(u)}${detail === "" ? "" : ` (${detail})`}; node-cron syntax: [second] minute hour day month weekday`
  )
}).annotations({ jsonSchema: { type: "string", description: "node-cron: [second] minute hour day month weekday" } })

export const listen = ListenAddress.annotations({ jsonSchema: { type: "string", description: "host:port, e.g. 0.0.0.0:9477 or [::1]:9477" } })

const statuses: ReadonlyArray<DesiredStatus> = ["running", "stopped"]
const isStatus = (s: string): s is DesiredStatus => statuses.some((status) => status === s)

export const status = leaf(Schema.Literal("running", "stopped"), (u) => {
  const lower = typeof u === "string" ? u.trim().toLowerCase() : ""
  return isStatus(lower) ? Either.right(lower) : Either.left(`must be one of running, stopped, got ${show(u)}`)
}).annotations({ jsonSchema: { type: "string", enum: ["running", "stopped"] } })

export const appId = AppId.annotations({
  ...text,
  jsonSchema: { type: "string", pattern: "^([Aa][Pp][Pp]_)?[0-9a-fA-F]{40}$", description: "40 hex characters, optionally prefixed app_" }
})

const ReplicaRangeSchema: Schema.Schema<ReplicaRange> = Schema.Struct({
  min: Schema.Number,
  max: Schema.NullOr(Schema.Number)
})

const count = integer(0, Number.MAX_SAFE_INTEGER)

export const replicaFields = { min: count, max: count }

const ReplicaBounds = Schema.Struct({
  min: replicaFields.min,
  max: Schema.optionalWith(replicaFields.max, { exact: true })
}).pipe(
  Schema.filter((r) =>
    r.max === undefined || r.min <= r.max ? undefined : `min (${r.min}) must be <= max (${r.max})`
  )
)

const replicaHint = "must be a non-negative integer or { min: n, max: m }"

/** `2` means exactly two; `{ min: 1 }` means at least one. */
export const replicas = Schema.transformOrFail(Schema.Unknown, ReplicaRangeSchema, {
  strict: true,
  decode: (u, options, ast) => {
    if (typeof u === "number") {
      return Number.isInteger(u) && u >= 0
        ? ParseResult.succeed({ min: u, max: u })
        : ParseResult.fail(new ParseResult.Type(ast, u, `${replicaHint}, got ${show(u)}`))
    }
    if (typeof u === "object" && u !== null && !Array.isArray(u)) {
      return ParseResult.map(
        ParseResult.decodeUnknown(ReplicaBounds)(u, options),
        (r): ReplicaRange => ({ min: r.min, max: r.max ?? null })
      )
    }
    return ParseResult.fail(new ParseResult.Type(ast, u, `${replicaHint}, got ${show(u)}`))
  },
  encode: ParseResult.succeed
}).annotations({
  [ConfigAnnotation.fields]: replicaFields,
  jsonSchema: {
    anyOf: [
      { type: "integer", minimum: 0, description: "exactly this many CVMs" },
      {
        type: "object",
        properties: { min: { type: "integer", minimum: 0 }, max: { type: "integer", minimum: 0 } },
        required: ["min"],
        additionalProperties: false
      }
    ]
  }
})

/** Like `secret`, but must also be an http(s) URL; the message never shows the value (a webhook URL is a credential). */
export const secretUrl = leaf(Schema.RedactedFromSelf(Schema.String), (u) => {
  if (typeof u !== "string") return Either.left("must be an http(s) URL string (quote the value)")
  const url = httpUrl("")(u)
  return Either.isRight(url)
    ? Either.right(Redacted.make(u))
    : Either.left(url.left.startsWith(userinfoMessage) ? userinfoMessage : "must be an http(s) URL (value not shown)")
}).annotations({ ...secretText, jsonSchema: { type: "string", description: "secret URL; usually ${VAR}" } })

export const httpUrlField = leaf(Schema.String, httpUrl("")).annotations({ jsonSchema: urlJsonSchema })

export const isReceiverName = (u: unknown): u is string => typeof u === "string" && /^[A-Za-z0-9_-]+$/.test(u)

export const receiverName = leaf(Schema.String, (u) =>
  isReceiverName(u)
    ? Either.right(u)
    : Either.left(`must be a receiver name of letters, digits, _ and -, got ${show(u)}`))
  .annotations({ ...text, jsonSchema: { type: "string", pattern: "^[A-Za-z0-9_-]+$" } })

/** Prometheus' label name rule; names starting with `__` are reserved (also checked, with a message of its own). */
export const isLabelName = (name: string): boolean => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate()

const timestampHint = "use ISO-8601 with an offset, e.g. 2026-12-01T02:00:00Z or 2026-12-01T04:00:00+02:00"

/**
 * An instant with an explicit offset: without one the window would shift with the host's time zone. YAML 1.2 (the
 * default) yields a string; a `%YAML 1.1` document yields a Date, taken as is.
 */
export const timestamp = leaf(Schema.DateFromSelf, (u) => {
  if (u instanceof Date) {
    return Number.isNaN(u.getTime()) ? Either.left(`invalid timestamp (${timestampHint})`) : Either.right(u)
  }
  if (typeof u !== "string") return Either.left(`must be a timestamp (${timestampHint}), got ${show(u)}`)
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.exec(u.trim())
  const [year, month, day, hour, minute, second] = (match?.slice(1, 7) ?? []).map((s) => Number(s ?? "0"))
  const valid = match !== null && year !== undefined && month !== undefined && day !== undefined &&
    month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) &&
    (hour ?? 0) < 24 && (minute ?? 0) < 60 && (second ?? 0) < 60
  const date = new Date(u.trim())
  return valid && !Number.isNaN(date.getTime())
    ? Either.right(date)
    : Either.left(`invalid timestamp ${show(u)} (${timestampHint})`)
}).annotations({ jsonSchema: { type: "string", description: timestampHint } })
