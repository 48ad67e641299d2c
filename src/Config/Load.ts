import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Data, Effect, Either, Schema } from "effect"
import type { DaemonConfig } from "../Domain/App.js"
import type { ReadSecretFile } from "./Build.js"
import { buildConfig } from "./Build.js"
import { checkApiKeyPresent, checkDuplicateApps, checkLabels, checkReceivers } from "./Checks.js"
import type { ConfigDiagnostic, ConfigPath, Problem } from "./Diagnostics.js"
import { ConfigError, sortDiagnostics } from "./Diagnostics.js"
import type { SourceDocument } from "./Document.js"
import { locate, parseYaml } from "./Document.js"
import { formatDuration } from "./Duration.js"
import { ConfigFile } from "./FileSchema.js"
import type { Env } from "./Interpolate.js"
import { interpolateTree } from "./Interpolate.js"
import { problemsOf } from "./Issues.js"

export const defaultConfigPath = "config/desired.yaml"

/** `--config` flag, else `PHALA_DRIFT_CONFIG`, else `config/desired.yaml`. */
export const resolveConfigPath = (flag: string | undefined, env: Env): string => {
  if (flag !== undefined && flag !== "") return flag
  const fromEnv = env["PHALA_DRIFT_CONFIG"]
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : defaultConfigPath
}

// Values that are always strings, even when they look like numbers: ids, secrets, names, paths.
const stringKeys = new Set([
  "app_id", "name", "severity", "api_key", "api_key_file", "api_version", "bearer_token", "bearer_token_file",
  "username", "password", "password_file", "state_dir", "instance_type", "region", "base_image", "kms_type", "node",
  "url", "url_file", "bearer_token_file", "hmac_secret", "hmac_secret_file", "webhook_url", "webhook_url_file"
])
const isStringPosition = (path: ConfigPath): boolean => {
  const last = path[path.length - 1]
  const parent = path[path.length - 2]
  return parent === "labels" || parent === "match" || (typeof last === "string" && stringKeys.has(last))
}

const receiverSecretKeys = ["url", "bearer_token", "hmac_secret", "webhook_url"]

const secretPaths = (root: unknown): ReadonlyArray<ConfigPath> => {
  const receivers = valueAt(root, ["alerting", "receivers"])
  return [
    ["api", "api_key"],
    ["server", "auth", "bearer_token"],
    ["server", "auth", "basic", "password"],
    ...(Array.isArray(receivers)
      ? receivers.flatMap((_, i) => receiverSecretKeys.map((key) => ["alerting", "receivers", i, key]))
      : [])
  ]
}

const valueAt = (root: unknown, path: ConfigPath): unknown =>
  path.reduce<unknown>(
    (node, segment) =>
      typeof node === "object" && node !== null ? Reflect.get(node, segment) : undefined,
    root
  )

// Backstop: no message is built from a secret, but if one ever were, it is masked before leaving this module.
const redact = (diagnostics: ReadonlyArray<ConfigDiagnostic>, secrets: ReadonlyArray<string>) => {
  const masks = secrets.filter((s) => s.length >= 4)
  return diagnostics.map((d) => ({
    ...d,
    message: masks.reduce((message, s) => message.split(s).join("<redacted>"), d.message)
  }))
}

const decodeFile = Schema.decodeUnknownEither(ConfigFile, { errors: "all", onExcessProperty: "error", exact: true })

const isUnder = (path: ConfigPath, prefix: ConfigPath): boolean =>
  prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment)

const fail = (source: SourceDocument, problems: ReadonlyArray<Problem>, secrets: ReadonlyArray<string>) =>
  new ConfigError({ diagnostics: sortDiagnostics(redact(problems.map((p) => locate(source, p)), secrets)) })

/**
 * The whole pipeline on text already read: YAML, `${VAR}` interpolation on scalar values, schema decoding,
 * semantic checks, env overrides, secret files, defaults. Fails with every problem found.
 */
export const parseConfig = (
  text: string,
  file: string,
  env: Env,
  readSecretFile: ReadSecretFile
): Effect.Effect<DaemonConfig, ConfigError> =>
  Effect.gen(function*() {
    const { source, syntaxErrors } = parseYaml(text, file)
    if (syntaxErrors.length > 0) return yield* new ConfigError({ diagnostics: sortDiagnostics(syntaxErrors) })

    const interpolation = interpolateTree(source.doc.contents, env, isStringPosition)
    const root: unknown = source.doc.toJS()
    const envKey = env["PHALA_CLOUD_API_KEY"]
    const secrets = [
      ...secretPaths(root).map((path) => valueAt(root, path)).filter((v): v is string => typeof v === "string"),
      ...(envKey === undefined ? [] : [envKey])
    ]

    const decoded = decodeFile(root)
    // A scalar whose interpolation failed still holds `${...}`; its decode error would only repeat the first.
    const schemaProblems = Either.isLeft(decoded)
      ? problemsOf(decoded.left, [], root).filter((p) => !interpolation.some((i) => isUnder(p.path, i.path)))
      : []
    const problems = [
      ...interpolation,
      ...schemaProblems,
      ...checkLabels(root),
      ...checkDuplicateApps(root, source),
      ...checkReceivers(root, source),
      ...checkApiKeyPresent(root, env)
    ]
    if (Either.isLeft(decoded) || problems.length > 0) return yield* fail(source, problems, secrets)

    return yield* buildConfig(decoded.right, { file, env, readSecretFile }).pipe(
      Effect.mapError((buildProblems) => fail(source, buildProblems, secrets))
    )
  })

const reasonOf = (error: { readonly _tag: string; readonly message: string; readonly reason?: string }) =>
  error.reason ?? error.message

/** A FIFO, device or directory where a file is expected. */
export class NotRegularFile extends Data.TaggedError("NotRegularFile")<{ readonly path: string }> {
  override get message() {
    return "not a regular file"
  }
}

/**
 * Reads `path` only if it is a regular file. A FIFO or device would block the read until a writer comes, and a
 * blocked read keeps the process from exiting (Node waits for its I/O threads): the daemon, which re-reads its files
 * on every reload, must never start one. One-shot commands may still read a pipe (`--config <(…)`).
 */
export const readRegularFile = (path: string): Effect.Effect<string, NotRegularFile | PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path)
    if (info.type !== "File") return yield* new NotRegularFile({ path })
    return yield* fs.readFileString(path)
  })

/** Reads and checks the desired-state file at `path` (and the secret files it names: regular files only if asked). */
export const loadConfig = (
  path: string,
  env: Env,
  options: { readonly regularFilesOnly?: boolean } = {}
): Effect.Effect<DaemonConfig, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const read = (file: string) =>
      options.regularFilesOnly === true ? readRegularFile(file) : fs.readFileString(file)
    const text = yield* read(path).pipe(
      Effect.mapError((error) =>
        new ConfigError({
          diagnostics: [{ file: path, line: 1, column: 1, path: "", message: `cannot read config file: ${reasonOf(error)}` }]
        })
      )
    )
    const readSecretFile: ReadSecretFile = (secretPath) =>
      read(secretPath).pipe(Effect.mapError(reasonOf), Effect.provideService(FileSystem.FileSystem, fs))
    return yield* parseConfig(text, path, env, readSecretFile)
  }).pipe(Effect.withSpan("Config.loadConfig", { attributes: { path } }))

export interface ValidReport {
  readonly valid: true
  readonly file: string
  readonly apps: number
  readonly api_url: string
  readonly poll: { readonly interval: string } | { readonly cron: string }
  readonly listen: string
  readonly state_dir: string
}

const listenOf = (config: DaemonConfig): string =>
  config.server.host.includes(":")
    ? `[${config.server.host}]:${config.server.port}`
    : `${config.server.host}:${config.server.port}`

/** The `validate --output json` body for a valid file; no secrets. */
export const validReport = (config: DaemonConfig): ValidReport => ({
  valid: true,
  file: config.source,
  apps: config.apps.length,
  api_url: config.api.url,
  poll: config.poll._tag === "Interval" ? { interval: formatDuration(config.poll.interval) } : { cron: config.poll.expression },
  listen: listenOf(config),
  state_dir: config.stateDir
})

/** One line for `validate` text output. */
export const formatValid = (config: DaemonConfig): string => {
  const schedule = config.poll._tag === "Interval"
    ? `every ${formatDuration(config.poll.interval)}`
    : `cron "${config.poll.expression}"`
  const apps = config.apps.length === 1 ? "1 app" : `${config.apps.length} apps`
  return `${config.source}: valid (${apps}, poll ${schedule}, listen ${listenOf(config)})`
}

