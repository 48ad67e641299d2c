import { Duration, Either, ParseResult, Schema, SchemaAST as AST } from "effect"
import * as F from "./Fields.js"
import { ConfigAnnotation, shapeOf } from "./Shape.js"

const isMapping = (u: unknown): u is object => typeof u === "object" && u !== null && !Array.isArray(u)

// Struct's own "not an object" issue names its derived encoded-side AST, which has no message annotation:
// check the shape here so the message says what was found.
// The fields go on as an annotation: the keys it accepts are read from there (Shape.ts), never listed again.
const mapping = <Fields extends Schema.Struct.Fields>(
  fields: Fields,
  message: (actual: unknown) => string = (actual) => `must be a mapping, got ${F.show(actual)}`
) => {
  const struct = Schema.Struct(fields)
  return Schema.transformOrFail(Schema.Unknown, Schema.typeSchema(struct), {
    strict: true,
    decode: (u, options, ast) =>
      isMapping(u)
        ? ParseResult.decodeUnknown(struct)(u, options)
        : ParseResult.fail(new ParseResult.Type(ast, u, message(u))),
    encode: ParseResult.succeed
  }).annotations({
    [ConfigAnnotation.fields]: fields,
    // the JSON Schema (editor completion) describes the mapping as written, not the check that reads it
    [AST.SurrogateAnnotationId]: Schema.Struct(fields).ast
  })
}

/** Optional key; an empty value (`key:` with nothing after it) counts as absent for sections. */
const section = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true, nullable: true })
const opt = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })

/** Upper bounds of durations, per kind of key (docs/configuration.md, "Durations"). */
const maxDuration = {
  requestTimeout: Duration.minutes(10),
  interval: Duration.hours(24),
  alertHold: Duration.days(30),
  receiverTimeout: Duration.minutes(5)
} as const

const exactlyOne = (keys: ReadonlyArray<string>) => (value: object): string | undefined => {
  const present = keys.filter((k) => Object.prototype.hasOwnProperty.call(value, k))
  return present.length === 1 ? undefined : present.length === 0
    ? `set one of ${keys.join(", ")}`
    : `set only one of ${present.join(", ")}`
}

export const apiFields = {
  url: opt(F.apiUrl),
  api_key: opt(F.secret),
  api_key_file: opt(F.nonEmptyString),
  api_version: opt(F.apiVersion),
  timeout: opt(F.duration({ min: Duration.zero, exclusive: true, max: maxDuration.requestTimeout })),
  retries: opt(F.integer(0, 10)),
  concurrency: opt(F.integer(1, 256)),
  // 64 KiB .. 256 MiB: below, real answers of large apps would not fit; above, the bound stops protecting memory
  max_response_bytes: opt(F.integer(64 * 1024, 256 * 1024 * 1024)),
  fetch: opt(F.oneOf(["auto", "list", "per_app"]))
}
const Api = mapping(apiFields).pipe(
  Schema.filter((api) =>
    api.api_key !== undefined && api.api_key_file !== undefined ? "set only one of api_key, api_key_file" : undefined
  )
)

export const pollFields = {
  interval: opt(F.duration({ min: Duration.seconds(1), max: maxDuration.interval })),
  cron: opt(F.cron)
}
const Poll = mapping(pollFields).pipe(Schema.filter(exactlyOne(["interval", "cron"])))

export const basicFields = {
  username: F.nonEmptyString,
  password: opt(F.secret),
  password_file: opt(F.nonEmptyString)
}
const Basic = mapping(basicFields).pipe(Schema.filter(exactlyOne(["password", "password_file"])))

export const authFields = {
  bearer_token: opt(F.secret),
  bearer_token_file: opt(F.nonEmptyString),
  basic: opt(Basic)
}
const Auth = mapping(authFields).pipe(
  Schema.filter(exactlyOne(["bearer_token", "bearer_token_file", "basic"]))
)

export const tlsFields = {
  cert_file: F.nonEmptyString,
  key_file: F.nonEmptyString
}

export const phalaWebhookFields = {
  path: F.webhookPath,
  secret: opt(F.secret),
  secret_file: opt(F.nonEmptyString)
}
const PhalaWebhook = mapping(phalaWebhookFields).pipe(Schema.filter(exactlyOne(["secret", "secret_file"])))

export const serverFields = {
  listen: opt(F.listen),
  lifecycle: opt(F.boolean),
  auth: section(Auth),
  tls: section(mapping(tlsFields)),
  phala_webhook: section(PhalaWebhook)
}

const positive = F.integer(1, Number.MAX_SAFE_INTEGER)
export const cvmFields = {
  instance_type: opt(F.nonEmptyString),
  vcpu: opt(positive),
  memory_mb: opt(positive),
  disk_gb: opt(positive),
  region: opt(F.nonEmptyString),
  base_image: opt(F.nonEmptyString),
  kms_type: opt(F.nonEmptyString),
  node: opt(F.nonEmptyString),
  compose_hash: opt(F.composeHash)
}

const Labels = Schema.Record({ key: Schema.String, value: F.anyString }).annotations({
  message: (issue) => `must be a mapping of label names to strings, got ${F.show(issue.actual)}`
})

export const defaultsFields = {
  status: opt(F.status),
  severity: opt(F.nonEmptyString),
  for: opt(F.duration({ min: Duration.zero, max: maxDuration.alertHold })),
  keep_firing_for: opt(F.duration({ min: Duration.zero, max: maxDuration.alertHold })),
  replicas: opt(F.replicas),
  labels: section(Labels),
  cvm: section(mapping(cvmFields))
}

export const maintenanceFields = {
  start: F.timestamp,
  end: F.timestamp
}
const MaintenanceWindow = mapping(maintenanceFields).pipe(
  Schema.filter((w) => w.end.getTime() > w.start.getTime() ? undefined : "end must be after start")
)
const Maintenance = Schema.Array(MaintenanceWindow).annotations({
  message: (issue) => `must be a list of { start, end } windows, got ${F.show(issue.actual)}`
})

export const appFields = {
  app_id: F.appId,
  name: opt(F.nonEmptyString),
  ...defaultsFields,
  maintenance: section(Maintenance),
  remediate: opt(F.boolean)
}

const Apps = Schema.Array(mapping(appFields)).annotations({
  message: (issue) => `must be a list of apps, got ${F.show(issue.actual)}`
})

const timeout = opt(F.duration({ min: Duration.zero, exclusive: true, max: maxDuration.receiverTimeout }))

const nonEmpty = <A>(list: ReadonlyArray<A>) => list.length > 0 ? undefined : "must not be empty"

const Urls = Schema.Array(F.httpUrlField).annotations({
  message: (issue) => `must be a list of http(s) URLs, got ${F.show(issue.actual)}`
}).pipe(Schema.filter(nonEmpty))

export const alertmanagerFields = {
  name: F.receiverName,
  type: Schema.Literal("alertmanager"),
  urls: Urls,
  timeout
}

export const webhookFields = {
  name: F.receiverName,
  type: Schema.Literal("webhook"),
  url: opt(F.secretUrl),
  url_file: opt(F.nonEmptyString),
  bearer_token: opt(F.secret),
  bearer_token_file: opt(F.nonEmptyString),
  hmac_secret: opt(F.secret),
  hmac_secret_file: opt(F.nonEmptyString),
  timeout
}

export const slackFields = {
  name: F.receiverName,
  type: Schema.Literal("slack"),
  webhook_url: opt(F.secretUrl),
  webhook_url_file: opt(F.nonEmptyString),
  timeout
}

const atMostOne = (keys: ReadonlyArray<string>) => (value: object): string | undefined => {
  const present = keys.filter((k) => Object.prototype.hasOwnProperty.call(value, k))
  return present.length > 1 ? `set only one of ${present.join(", ")}` : undefined
}

const receiverSchemas = {
  alertmanager: mapping(alertmanagerFields),
  webhook: mapping(webhookFields).pipe(
    Schema.filter((r) =>
      exactlyOne(["url", "url_file"])(r) ?? atMostOne(["bearer_token", "bearer_token_file"])(r) ??
        atMostOne(["hmac_secret", "hmac_secret_file"])(r)
    )
  ),
  slack: mapping(slackFields).pipe(Schema.filter(exactlyOne(["webhook_url", "webhook_url_file"])))
}
export const receiverTypes = ["alertmanager", "webhook", "slack"] as const
export type ReceiverType = (typeof receiverTypes)[number]
const isReceiverType = (u: unknown): u is ReceiverType => receiverTypes.some((t) => t === u)

const ReceiverOut = Schema.Union(
  Schema.typeSchema(receiverSchemas.alertmanager),
  Schema.typeSchema(receiverSchemas.webhook),
  Schema.typeSchema(receiverSchemas.slack)
)

// A plain Union would report every member's mismatch; dispatching on `type` gives one precise error per key.
const Receiver = Schema.transformOrFail(Schema.Unknown, ReceiverOut, {
  strict: true,
  decode: (u, options, ast) => {
    if (!isMapping(u)) return ParseResult.fail(new ParseResult.Type(ast, u, `must be a receiver mapping, got ${F.show(u)}`))
    const type: unknown = Reflect.get(u, "type")
    if (type === undefined) {
      return ParseResult.fail(new ParseResult.Pointer("type", u, new ParseResult.Missing(new AST.Type(AST.stringKeyword))))
    }
    if (!isReceiverType(type)) {
      return ParseResult.fail(
        new ParseResult.Pointer(
          "type",
          u,
          new ParseResult.Type(ast, type, `must be one of ${receiverTypes.join(", ")}, got ${F.show(type)}`)
        )
      )
    }
    switch (type) {
      case "alertmanager":
        return ParseResult.decodeUnknown(receiverSchemas.alertmanager)(u, options)
      case "webhook":
        return ParseResult.decodeUnknown(receiverSchemas.webhook)(u, options)
      case "slack":
        return ParseResult.decodeUnknown(receiverSchemas.slack)(u, options)
    }
  },
  encode: ParseResult.succeed
}).annotations({
  [ConfigAnnotation.variants]: { noun: "receiver", key: "type", variants: { alertmanager: alertmanagerFields, webhook: webhookFields, slack: slackFields } },
  [AST.SurrogateAnnotationId]: Schema.Union(Schema.Struct(alertmanagerFields), Schema.Struct(webhookFields), Schema.Struct(slackFields)).ast
})

const Receivers = Schema.Array(Receiver).annotations({
  message: (issue) => `must be a list of receivers, got ${F.show(issue.actual)}`
})

const Names = Schema.Array(F.receiverName).annotations({
  message: (issue) => `must be a list of receiver names, got ${F.show(issue.actual)}`
})

export const routeFields = {
  match: Labels,
  receivers: Names.pipe(Schema.filter(nonEmpty))
}

const Routes = Schema.Array(mapping(routeFields)).annotations({
  message: (issue) => `must be a list of routes, got ${F.show(issue.actual)}`
})

export const alertingFields = {
  resend_interval: opt(F.duration({ min: Duration.seconds(1), max: maxDuration.interval })),
  external_url: opt(F.httpUrlField),
  receivers: section(Receivers),
  default_receivers: section(Names),
  routes: section(Routes)
}

export const remediationFields = {
  enabled: opt(F.boolean),
  dry_run: opt(F.boolean),
  max_actions_per_cycle: opt(F.integer(1, 1000)),
  cooldown: opt(F.duration({ min: Duration.zero, max: maxDuration.alertHold })),
  max_attempts: opt(F.integer(1, 100))
}

const IgnoreList = Schema.Array(F.nonEmptyString).annotations({
  message: (issue) => `must be a list of app ids or name globs, got ${F.show(issue.actual)}`
})

export const discoveryFields = {
  unmanaged: opt(F.oneOf(["ignore", "report"])),
  ignore: section(IgnoreList)
}

const version = F.leaf<1>(Schema.Literal(1), (u) =>
  u === 1 ? Either.right(u) : Either.left(`must be 1 (the only supported version), got ${F.show(u)}`))
  .annotations({ jsonSchema: { type: "integer", enum: [1] } })

export const topFields = {
  version,
  api: section(Api),
  poll: section(Poll),
  server: section(mapping(serverFields)),
  state_dir: opt(F.nonEmptyString),
  defaults: section(mapping(defaultsFields)),
  alerting: section(mapping(alertingFields)),
  remediation: section(mapping(remediationFields)),
  discovery: section(mapping(discoveryFields)),
  apps: Apps
}

/** The file as written, after interpolation; defaults are applied later, in `Build.ts`. */
// Never the value itself: `--config` pointed at a key file or a `.env` file reads as one text value.
const kindOf = (u: unknown): string =>
  typeof u === "string"
    ? "a text value (not shown)"
    : typeof u === "number" || typeof u === "boolean"
    ? `a ${typeof u} (not shown)`
    : u === null || u === undefined
    ? "an empty file"
    : F.show(u)

export const ConfigFile = mapping(
  topFields,
  (actual) => `the config must be a mapping with "version: 1" and "apps", got ${kindOf(actual)}`
)
export type ConfigFile = typeof ConfigFile.Type
export type AppEntry = ConfigFile["apps"][number]
export type AppDefaults = NonNullable<ConfigFile["defaults"]>
export type AlertingEntry = NonNullable<ConfigFile["alerting"]>
export type ReceiverEntry = NonNullable<AlertingEntry["receivers"]>[number]

/** What the schema says about every key: accepted keys, values kept as written, secrets (see Shape.ts). */
export const configShape = shapeOf(ConfigFile)
