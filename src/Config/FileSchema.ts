import { Duration, Either, ParseResult, Schema } from "effect"
import * as F from "./Fields.js"

const isMapping = (u: unknown): u is object => typeof u === "object" && u !== null && !Array.isArray(u)

// Struct's own "not an object" issue names its derived encoded-side AST, which has no message annotation:
// check the shape here so the message says what was found.
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
  })
}

/** Optional key; an empty value (`key:` with nothing after it) counts as absent for sections. */
const section = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true, nullable: true })
const opt = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })

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
  timeout: opt(F.duration({ min: Duration.zero, exclusive: true })),
  retries: opt(F.integer(0, 10)),
  concurrency: opt(F.integer(1, 256))
}
const Api = mapping(apiFields).pipe(
  Schema.filter((api) =>
    api.api_key !== undefined && api.api_key_file !== undefined ? "set only one of api_key, api_key_file" : undefined
  )
)

export const pollFields = {
  interval: opt(F.duration({ min: Duration.seconds(1) })),
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

export const serverFields = {
  listen: opt(F.listen),
  lifecycle: opt(F.boolean),
  auth: section(Auth),
  tls: section(mapping(tlsFields))
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
  node: opt(F.nonEmptyString)
}

const Labels = Schema.Record({ key: Schema.String, value: F.anyString }).annotations({
  message: (issue) => `must be a mapping of label names to strings, got ${F.show(issue.actual)}`
})

export const defaultsFields = {
  status: opt(F.status),
  severity: opt(F.nonEmptyString),
  for: opt(F.duration({ min: Duration.zero })),
  keep_firing_for: opt(F.duration({ min: Duration.zero })),
  replicas: opt(F.replicas),
  labels: section(Labels),
  cvm: section(mapping(cvmFields))
}

export const appFields = {
  app_id: F.appId,
  name: opt(F.nonEmptyString),
  ...defaultsFields
}

const Apps = Schema.Array(mapping(appFields)).annotations({
  message: (issue) => `must be a list of apps, got ${F.show(issue.actual)}`
})

const version = F.leaf<1>(Schema.Literal(1), (u) =>
  u === 1 ? Either.right(u) : Either.left(`must be 1 (the only supported version), got ${F.show(u)}`))

export const topFields = {
  version,
  api: section(Api),
  poll: section(Poll),
  server: section(mapping(serverFields)),
  state_dir: opt(F.nonEmptyString),
  defaults: section(mapping(defaultsFields)),
  apps: Apps
}

/** The file as written, after interpolation; defaults are applied later, in `Build.ts`. */
export const ConfigFile = mapping(
  topFields,
  (actual) => `the config must be a mapping with "version: 1" and "apps", got ${F.show(actual)}`
)
export type ConfigFile = typeof ConfigFile.Type
export type AppEntry = ConfigFile["apps"][number]
export type AppDefaults = NonNullable<ConfigFile["defaults"]>

/** The keys each mapping accepts, by path with list indices removed (`apps.cvm`), for "did you mean". */
export const keysByShape: Readonly<Record<string, ReadonlyArray<string>>> = {
  "": Object.keys(topFields),
  api: Object.keys(apiFields),
  poll: Object.keys(pollFields),
  server: Object.keys(serverFields),
  "server.auth": Object.keys(authFields),
  "server.auth.basic": Object.keys(basicFields),
  "server.tls": Object.keys(tlsFields),
  defaults: Object.keys(defaultsFields),
  "defaults.cvm": Object.keys(cvmFields),
  "defaults.replicas": Object.keys(F.replicaFields),
  apps: Object.keys(appFields),
  "apps.cvm": Object.keys(cvmFields),
  "apps.replicas": Object.keys(F.replicaFields)
}
