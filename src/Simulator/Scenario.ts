import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, ParseResult, Schema } from "effect"
import { DurationMillis } from "../Core/Domain/Duration.js"
import { parseYamlSource, positionOf } from "../Support/YamlSource.js"
import { apiVersions, kmsTypes } from "./Catalog.js"
import { SimulatorError } from "./Errors.js"

/** `300ms`, `10s`, `2m`, `1h30m` on the wire (the config's grammar); milliseconds in code. */
const DurationMs = DurationMillis

// == building blocks

const opt = <A, I, R>(schema: Schema.Schema<A, I, R>) => Schema.optionalWith(schema, { exact: true })

const NonEmpty = Schema.String.pipe(Schema.minLength(1, { message: () => "Expected a non-empty string" }))
const PositiveInt = Schema.Int.pipe(Schema.positive())
const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())

export const ApiVersion = Schema.Literal(...apiVersions)
const KmsType = Schema.Literal(...kmsTypes)

export const AppIdText = Schema.String.pipe(
  Schema.pattern(/^(app_)?[0-9a-f]{40}$/, { message: () => "Expected 40 lower-case hex characters (optionally prefixed app_)" })
)
// the API's vm_uuids are version 4, and clients rely on it: the official SDK refuses any other UUID as a CVM id
export const VmUuidText = Schema.String.pipe(
  Schema.pattern(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, {
    message: () => "Expected a lower-case UUID version 4 with dashes (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx)"
  })
)
const Hashid = (prefix: string) =>
  Schema.String.pipe(Schema.pattern(new RegExp(`^${prefix}_[0-9A-Za-z]+$`), { message: () => `Expected a ${prefix}_ hashid` }))

/** Retry-After as sent: delta-seconds or an HTTP date; YAML numbers are accepted as seconds. */
const RetryAfter = Schema.Union(NonEmpty, NonNegativeInt.pipe(Schema.transform(Schema.String, {
  strict: true,
  decode: (n) => String(n),
  encode: (s) => Number(s)
})))

export const Then = Schema.Struct({ status: NonEmpty, after: DurationMs })
export type Then = typeof Then.Type

// == faults

const StatusFault = Schema.Union(
  Schema.Int.pipe(Schema.between(400, 599)),
  Schema.Struct({ status: Schema.Int.pipe(Schema.between(400, 599)), retry_after: opt(RetryAfter) })
)

export const FaultsSpec = Schema.Struct({
  latency: opt(DurationMs),
  statuses: opt(Schema.Array(StatusFault)),
  rate_limit: opt(Schema.Struct({ count: PositiveInt, retry_after: opt(RetryAfter) })),
  malformed: opt(Schema.Boolean),
  wrong_types: opt(Schema.Boolean),
  hang: opt(Schema.Boolean),
  /** Answers of `POST /cvms/{id}/start|stop|shutdown|restart` for the app's CVMs, one per request, in order. */
  actions: opt(Schema.Array(StatusFault))
}).annotations({ identifier: "Faults" })
export type FaultsSpec = typeof FaultsSpec.Type

// == CVMs and apps

/** CVM attributes that may be changed at run time (admin PATCH, timeline `set`). */
export const CvmAttributes = Schema.Struct({
  name: opt(NonEmpty),
  instance_type: opt(NonEmpty),
  vcpu: opt(PositiveInt),
  memory_mb: opt(PositiveInt),
  disk_gb: opt(PositiveInt),
  gpu_count: opt(NonNegativeInt),
  region: opt(NonEmpty),
  node: opt(NonEmpty),
  teepod_id: opt(NonNegativeInt),
  base_image: opt(NonEmpty),
  kms_type: opt(KmsType),
  kms_slug: opt(NonEmpty),
  instance_id: opt(Schema.NullOr(Schema.String.pipe(Schema.pattern(/^[0-9a-f]{40}$/)))),
  listed: opt(Schema.Boolean),
  compose_hash: opt(Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/, { message: () => "Expected 64 lower-case hex characters" })))
}).annotations({ identifier: "CvmAttributes" })
export type CvmAttributes = typeof CvmAttributes.Type

export const CvmSpec = Schema.Struct({
  ...CvmAttributes.fields,
  vm_uuid: opt(VmUuidText),
  id: opt(Hashid("cvm")),
  status: opt(NonEmpty),
  transitions: opt(Schema.Array(Schema.Struct({ after: DurationMs, status: NonEmpty })))
}).annotations({ identifier: "Cvm" })
export type CvmSpec = typeof CvmSpec.Type

const Team = Schema.Struct({ slug: NonEmpty, name: NonEmpty })
export type Team = typeof Team.Type

const Profile = Schema.Struct({
  display_name: opt(Schema.NullOr(Schema.String)),
  avatar_url: opt(Schema.NullOr(Schema.String)),
  description: opt(Schema.NullOr(Schema.String)),
  custom_domain: opt(Schema.NullOr(Schema.String))
})

export const AppSpec = Schema.Struct({
  app_id: opt(AppIdText),
  id: opt(Hashid("prj")),
  name: opt(NonEmpty),
  version: opt(ApiVersion),
  shape: opt(Schema.Literal("full", "minimal")),
  forbidden: opt(Schema.Boolean),
  kms_type: opt(KmsType),
  created_at: opt(NonEmpty),
  team: opt(Schema.NullOr(Team)),
  profile: opt(Schema.NullOr(Profile)),
  cvms: opt(Schema.Array(CvmSpec)),
  faults: opt(FaultsSpec)
}).annotations({ identifier: "App" })
export type AppSpec = typeof AppSpec.Type

// == timeline and synthetic fleet

const TimelineEvent = Schema.Struct({
  at: DurationMs,
  app: NonEmpty,
  vm_uuid: opt(VmUuidText),
  cvm: opt(NonEmpty),
  status: opt(NonEmpty),
  then: opt(Then),
  set: opt(CvmAttributes),
  faults: opt(Schema.NullOr(FaultsSpec))
}).pipe(
  Schema.filter((e) => {
    const targetsCvm = e.vm_uuid !== undefined || e.cvm !== undefined
    if (e.status === undefined && e.set === undefined && e.faults === undefined) {
      return "A timeline event needs at least one of status, set or faults"
    }
    if ((e.status !== undefined || e.set !== undefined) && !targetsCvm) return "status and set need vm_uuid or cvm"
    if (e.then !== undefined && e.status === undefined) return "then needs status"
    return undefined
  })
).annotations({ identifier: "TimelineEvent" })
export type TimelineEvent = typeof TimelineEvent.Type

const Timeline = Schema.Struct({
  loop: opt(DurationMs.pipe(Schema.filter((ms) => ms > 0 || "loop must be longer than 0"))),
  events: Schema.Array(TimelineEvent)
}).pipe(
  Schema.filter((t) =>
    t.loop === undefined || t.events.every((e) => e.at < (t.loop ?? 0)) || "every event's at must be shorter than loop"
  )
)

export const SyntheticSpec = Schema.Struct({
  apps: NonNegativeInt,
  cvms_per_app: opt(NonNegativeInt),
  seed: opt(Schema.Int),
  name_prefix: opt(NonEmpty),
  version: opt(ApiVersion)
}).annotations({ identifier: "Synthetic" })
export type SyntheticSpec = typeof SyntheticSpec.Type

export const WebhookTargetSpec = Schema.Struct({
  url: Schema.String.pipe(Schema.pattern(/^https?:\/\/[^\s]+$/, { message: () => "Expected an http:// or https:// URL" })),
  secret: NonEmpty
}).annotations({ identifier: "Webhook" })

/**
 * `GET /apps` misbehaving: faults on every page, faults of one page (e.g. only page 2 fails), and apps added or
 * removed right after a page was served, so the next pages shift under a reader.
 */
export const ListSpec = Schema.Struct({
  faults: opt(FaultsSpec),
  pages: opt(Schema.Array(Schema.Struct({ page: PositiveInt, faults: FaultsSpec }))),
  shifts: opt(Schema.Array(
    Schema.Struct({ after_page: PositiveInt, add: opt(AppSpec), remove: opt(AppIdText) }).pipe(
      Schema.filter((s) => s.add !== undefined || s.remove !== undefined || "a shift needs add or remove")
    )
  ))
}).annotations({ identifier: "List" })
export type ListSpec = typeof ListSpec.Type

export const Scenario = Schema.Struct({
  api_keys: opt(Schema.NonEmptyArray(NonEmpty)),
  webhooks: opt(Schema.Array(WebhookTargetSpec)),
  default_version: opt(ApiVersion),
  transition_delay: opt(DurationMs),
  seed: opt(Schema.Int),
  team: opt(Schema.NullOr(Team)),
  apps: opt(Schema.Array(AppSpec)),
  timeline: opt(Timeline),
  synthetic: opt(SyntheticSpec),
  list: opt(ListSpec)
}).annotations({ identifier: "Scenario" })
export type Scenario = typeof Scenario.Type
export type ScenarioInput = typeof Scenario.Encoded

// == decoding with diagnostics

const parseOptions = { errors: "all", onExcessProperty: "error" } as const

const formatIssues = (
  error: ParseResult.ParseError,
  locate: (path: ReadonlyArray<PropertyKey>, atKey: boolean) => string
): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => {
      const path = issue.path.length === 0 ? "(root)" : issue.path.map(String).join(".")
      const message = issue._tag === "Unexpected" ? "unknown key (not part of the scenario format)" : issue.message
      return `${locate(issue.path, issue._tag === "Unexpected")}${path}: ${message}`
    })
    .join("\n")

/** Decodes an in-memory scenario (tests, benchmarks); unknown keys are errors. */
export const decodeScenario = (input: unknown): Effect.Effect<Scenario, SimulatorError> =>
  Schema.decodeUnknown(Scenario, parseOptions)(input).pipe(
    Effect.mapError((error) =>
      new SimulatorError({ reason: "scenario", message: `invalid scenario:\n${formatIssues(error, () => "")}` })
    )
  )

/** Parses scenario YAML text; errors name the file, line and column (the config's YAML diagnostics). */
export const parseScenario = (text: string, source: string): Effect.Effect<Scenario, SimulatorError> =>
  Effect.gen(function*() {
    const { source: yaml, syntaxErrors } = parseYamlSource(text, source, { uniqueKeys: true })
    if (syntaxErrors.length > 0) {
      return yield* new SimulatorError({
        reason: "scenario",
        message: syntaxErrors.map((e) => `${source}:${e.line}:${e.column}: ${e.message}`).join("\n")
      })
    }
    const locate = (path: ReadonlyArray<PropertyKey>, atKey: boolean): string => {
      const { column, line } = positionOf(yaml, path, atKey ? "key" : "value")
      return `${source}:${line}:${column}: `
    }
    return yield* Schema.decodeUnknown(Scenario, parseOptions)(yaml.doc.toJS()).pipe(
      Effect.mapError((error) => new SimulatorError({ reason: "scenario", message: formatIssues(error, locate) }))
    )
  })

export const loadScenario = (path: string): Effect.Effect<Scenario, SimulatorError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((cause) =>
        new SimulatorError({ reason: "scenario", message: `cannot read scenario ${path}: ${cause.message}`, cause })
      )
    )
    return yield* parseScenario(text, path)
  })
