import { Schema } from "effect"
import { type Alert, type AlertEvent, alertNames } from "./Alert.js"

const EpochMillis = Schema.Number.pipe(Schema.finite())
const StringMap = Schema.Record({ key: Schema.String, value: Schema.String })

/** On-disk form of `Alert` (state file, outbox items); the same field names as the domain type. */
export const AlertSchema = Schema.Struct({
  fingerprint: Schema.String,
  name: Schema.Literal(...alertNames),
  labels: StringMap,
  annotations: StringMap,
  state: Schema.Literal("pending", "firing", "resolved"),
  activeAt: EpochMillis,
  firedAt: Schema.NullOr(EpochMillis),
  lastActiveAt: EpochMillis,
  resolvedAt: Schema.NullOr(EpochMillis),
  silenced: Schema.Boolean,
  announced: Schema.Boolean
})

export const AlertEventSchema = Schema.Struct({
  kind: Schema.Literal("firing", "resolved"),
  alert: AlertSchema,
  at: EpochMillis
})

// compile-time guard: the schemas must keep describing the domain types exactly
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
export const schemaMatchesDomain: [Same<typeof AlertSchema.Type, Alert>, Same<typeof AlertEventSchema.Type, AlertEvent>] =
  [true, true]
