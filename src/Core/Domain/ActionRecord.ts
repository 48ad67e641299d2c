import { Schema } from "effect"

/** `result` of a record; the metric counts the last four (`intent` precedes `ok` or `failed`). */
export const actionResults = ["intent", "ok", "failed", "skipped", "dry_run"] as const
export type ActionResult = (typeof actionResults)[number]
export const countedResults = ["ok", "failed", "skipped", "dry_run"] as const

const Iso = Schema.String.pipe(Schema.filter((s) => !Number.isNaN(Date.parse(s)) || "must be an ISO-8601 timestamp"))

/**
 * One line of `state_dir/actions.jsonl` and one entry of `GET /api/v1/actions`: a self-healing decision or action.
 * An action is two records with the same `id`: `intent` (written and fsync'd before the request is sent), then
 * `ok` or `failed`. An `intent` without a result means the process stopped while the request was in flight.
 */
export const ActionRecord = Schema.Struct({
  id: Schema.String,
  at: Iso,
  app_id: Schema.String,
  app_name: Schema.String,
  vm_uuid: Schema.String,
  cvm_name: Schema.String,
  action: Schema.Literal("start", "shutdown", "stop"),
  from: Schema.String,
  to: Schema.Literal("running", "stopped"),
  result: Schema.Literal(...actionResults),
  /** A skip's reason (closed set, `SkipReason`) or a failure's (`http_409`, `timeout`…); null otherwise. */
  reason: Schema.NullOr(Schema.String),
  detail: Schema.String,
  /** Which attempt of the incident this is (or would be). */
  attempt: Schema.Int,
  /** When the CVM's status drift began (the incident). */
  incident_since: Iso
})
export type ActionRecord = typeof ActionRecord.Type

export const ActionRecordJson = Schema.parseJson(ActionRecord)
