import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Data, Effect, Either, Schema } from "effect"
import type { DaemonConfig } from "../Core/Domain/App.js"
import { formatHostPort } from "../Core/Domain/ListenAddress.js"
import { secretMasker } from "../Core/Secrets.js"
import type { ReadSecretFile } from "./Build.js"
import { buildConfig } from "./Build.js"
import { checkApiKeyPresent, checkDuplicateApps, checkLabels, checkReceivers } from "./Checks.js"
import type { ConfigDiagnostic, ConfigPath, Problem } from "./Diagnostics.js"
import { ConfigError, diagnosticCollector, firstDiagnostics, formatPath } from "./Diagnostics.js"
import { locate, parseYaml } from "./Document.js"
import { formatDuration } from "../Core/Domain/Duration.js"
import { truncate } from "../Core/Echo.js"
import { ConfigFile, configShape } from "./FileSchema.js"
import type { Env } from "./Interpolate.js"
import { problemsOf } from "./Issues.js"
import { aliasNodeBudget, formatBytes, maxConfigBytes, maxDiagnostics, maxSecretFileBytes } from "./Limits.js"
import { secretPaths, shapeAt } from "./Shape.js"
import { toTree } from "./Tree.js"
import { stripUnknownKeys } from "./UnknownKeys.js"
import type { ConfigWarning } from "./Warnings.js"
import { composeHashWarnings, configWarnings } from "./Warnings.js"

export { defaultConfigPath, resolveConfigPath } from "./ConfigPath.js"

// Values kept as written (ids, names, secrets, label values): the schema's annotations say which.
const isStringPosition = (path: ConfigPath): boolean => {
  const shape = shapeAt(configShape, path)
  return shape?._tag === "Leaf" && shape.staysString
}

const valueAt = (root: unknown, path: ConfigPath): unknown =>
  path.reduce<unknown>(
    (node, segment) =>
      typeof node === "object" && node !== null ? Reflect.get(node, segment) : undefined,
    root
  )

// Backstop: no message is built from a secret, but if one ever were, it is masked before leaving this module.
const redact = (diagnostics: ReadonlyArray<ConfigDiagnostic>, secrets: ReadonlyArray<string>) => {
  const mask = secretMasker(secrets)
  return diagnostics.map((d) => ({ ...d, message: mask(d.message) }))
}

const decodeFile = Schema.decodeUnknownEither(ConfigFile, { errors: "all", onExcessProperty: "error", exact: true })

const failWith = (file: string, message: string) =>
  new ConfigError({ diagnostics: [{ file, line: 1, column: 1, path: "", message }], omitted: 0 })

/** What `validate` does with an unset `${VAR}`: an error (`--strict`, and always for plan and serve) or a note. */
export type UnsetVariables = "error" | "note"

export interface CheckedConfig {
  /** Null when a typed value comes from an unset variable (a note): the file could be checked, not built. */
  readonly config: DaemonConfig | null
  /** Unset `${VAR}`s and a missing API key, when they are notes; in file order. */
  readonly notes: ReadonlyArray<ConfigDiagnostic>
  /** Valid settings that will not do what they seem to, placed in the file (see Warnings.ts). */
  readonly warnings: ReadonlyArray<ConfigDiagnostic>
}

/**
 * The whole pipeline on text already read: YAML, `${VAR}` interpolation on scalar values, unknown keys, schema
 * decoding, semantic checks, env overrides, secret files, defaults. Fails with every problem found (the first
 * `maxDiagnostics` of them, and how many more). Every step is linear in the size of the text, problems are kept
 * in bounded memory however many there are, and even a defect of this code ends as a diagnostic, never as a crash
 * of the caller.
 */
export const parseConfig = (
  text: string,
  file: string,
  env: Env,
  readSecretFile: ReadSecretFile
): Effect.Effect<DaemonConfig, ConfigError> =>
  Effect.flatMap(checkConfig(text, file, env, readSecretFile, "error"), (checked) =>
    checked.config === null
      ? Effect.fail(failWith(file, "cannot check the config: internal error (no config and no error)"))
      : Effect.succeed(checked.config))

/** `parseConfig`, where unset `${VAR}`s (and so a missing API key) may be notes rather than errors. */
export const checkConfig = (
  text: string,
  file: string,
  env: Env,
  readSecretFile: ReadSecretFile,
  unsetVariables: UnsetVariables
): Effect.Effect<CheckedConfig, ConfigError> =>
  Effect.gen(function*() {
    if (text.length > maxConfigBytes) {
      return yield* failWith(file, `the file is larger than ${formatBytes(maxConfigBytes)}; not read`)
    }
    const { source, syntaxErrors } = parseYaml(text, file)
    if (syntaxErrors.length > 0) {
      const { omitted, shown } = firstDiagnostics(syntaxErrors, maxDiagnostics)
      return yield* new ConfigError({ diagnostics: shown, omitted })
    }

    const collector = diagnosticCollector(maxDiagnostics)
    const report = (p: Problem) => collector.add(locate(source, p))
    const noteCollector = diagnosticCollector(maxDiagnostics)
    const note = (p: Problem) => noteCollector.add(locate(source, p))
    const notes = () => noteCollector.finish().shown
    let secrets: ReadonlyArray<string> = []
    const fail = () => {
      const { omitted, shown } = collector.finish()
      return new ConfigError({ diagnostics: redact(shown, secrets), omitted })
    }

    const tree = toTree(source.doc.contents, {
      env,
      isStringPosition,
      aliasBudget: aliasNodeBudget(text.length),
      report,
      ...(unsetVariables === "note" ? { noteUnset: note } : {})
    })
    if (tree.structural > 0) return yield* fail()
    const root = tree.root
    const envKey = env["PHALA_CLOUD_API_KEY"]
    secrets = [
      ...secretPaths(configShape, root).map((path) => valueAt(root, path)).filter((v): v is string => typeof v === "string"),
      ...(envKey === undefined ? [] : [envKey])
    ]

    stripUnknownKeys(root, report)
    const decoded = decodeFile(root)
    if (Either.isLeft(decoded)) {
      for (const p of problemsOf(decoded.left, [], root)) {
        // a scalar whose interpolation failed still holds `${...}`: its decode error would only repeat the first
        if (!tree.uninterpolated.has(formatPath(p.path))) report(p)
      }
    }
    for (const check of [checkLabels(root), checkDuplicateApps(root, source), checkReceivers(root, source)]) {
      check.forEach(report)
    }
    // without secrets (validate in CI), no key at all is only worth a note: the daemon will refuse to start
    checkApiKeyPresent(root, env).forEach(unsetVariables === "note" ? note : report)
    if (collector.count() > 0) return yield* fail()
    if (Either.isLeft(decoded)) return { config: null, notes: notes(), warnings: [] }
    const warnings = composeHashWarnings(decoded.right).map((p) => locate(source, p))

    const config = yield* buildConfig(decoded.right, { file, env, readSecretFile }).pipe(
      Effect.mapError((buildProblems) => {
        buildProblems.forEach(report)
        return fail()
      })
    )
    return { config, notes: notes(), warnings }
  }).pipe(
    Effect.catchAllDefect((defect) =>
      Effect.fail(failWith(file, `cannot check the config: internal error (${describeDefect(defect)})`))
    )
  )

/** A defect's name and message, short; never a stack trace. */
export const describeDefect = (defect: unknown): string =>
  truncate(defect instanceof Error ? `${defect.name}: ${defect.message}` : String(defect))

const reasonOf = (error: { readonly _tag: string; readonly message: string; readonly reason?: string }) =>
  error.reason ?? error.message

export type ReadResult =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "TooLarge" }

/** A FIFO, device or directory where a file is expected. */
export class NotRegularFile extends Data.TaggedError("NotRegularFile")<{ readonly path: string }> {
  override get message() {
    return "not a regular file"
  }
}

export interface ReadOptions {
  /**
   * Refuse anything but a regular file, without opening it. A FIFO would block the read until a writer comes, and
   * a blocked read keeps the process from exiting (Node waits for its I/O threads): the daemon, which re-reads its
   * files on every reload, must never start one. One-shot commands may still read a pipe (`--config <(…)`).
   */
  readonly regularFilesOnly?: boolean
}

/**
 * Reads at most `maxBytes` (plus one byte, to tell). Reading stops there even for a file that grows while it is
 * read, or a device such as /dev/zero whose size says nothing.
 */
export const readBounded = (
  path: string,
  maxBytes: number,
  options: ReadOptions = {}
): Effect.Effect<ReadResult, NotRegularFile | PlatformError, FileSystem.FileSystem> =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (options.regularFilesOnly === true) {
      const info = yield* fs.stat(path)
      if (info.type !== "File") return yield* new NotRegularFile({ path })
      // a regular file's size can be believed enough to skip reading one that is too large (the watch asks often)
      if (Number(info.size) > maxBytes) return { _tag: "TooLarge" } as const
    }
    const file = yield* fs.open(path, { flag: "r" })
    const buffer = new Uint8Array(Math.min(maxBytes + 1, 1024 * 1024))
    const chunks: Array<Uint8Array> = []
    let total = 0
    while (total <= maxBytes) {
      const n = Number(yield* file.read(buffer))
      if (n === 0) break
      chunks.push(buffer.slice(0, n))
      total += n
    }
    if (total > maxBytes) return { _tag: "TooLarge" } as const
    return { _tag: "Text", text: new TextDecoder().decode(Buffer.concat(chunks)) } as const
  }))

/** Reads the config file, bounded; fails with a one-line diagnostic when it cannot. */
export const readConfigText = (path: string, options: ReadOptions = {}): Effect.Effect<string, ConfigError, FileSystem.FileSystem> =>
  readBounded(path, maxConfigBytes, options).pipe(
    Effect.mapError((error) => failWith(path, `cannot read config file: ${reasonOf(error)}`)),
    Effect.flatMap((read) =>
      read._tag === "Text"
        ? Effect.succeed(read.text)
        : Effect.fail(failWith(path, `the file is larger than ${formatBytes(maxConfigBytes)}; not read`))
    )
  )

/** Secret files are read the same bounded way, with a short reason on failure. */
export const readSecretFileWith = (fs: FileSystem.FileSystem, options: ReadOptions = {}): ReadSecretFile => (secretPath) =>
  readBounded(secretPath, maxSecretFileBytes, options).pipe(
    Effect.provideService(FileSystem.FileSystem, fs),
    Effect.mapError(reasonOf),
    Effect.flatMap((read) =>
      read._tag === "Text" ? Effect.succeed(read.text) : Effect.fail(`larger than ${formatBytes(maxSecretFileBytes)}`)
    )
  )

/**
 * Reads and checks the desired-state file at `path` (and the secret files it names: regular files only if asked),
 * in this thread (see Isolated.ts for the daemon's way).
 */
export const loadConfig = (
  path: string,
  env: Env,
  options: ReadOptions = {}
): Effect.Effect<DaemonConfig, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* readConfigText(path, options)
    return yield* parseConfig(text, path, env, readSecretFileWith(fs, options))
  }).pipe(Effect.withSpan("Config.loadConfig", { attributes: { path } }))

export interface ValidReport {
  readonly valid: true
  readonly file: string
  /** Unset `${VAR}`s (and a missing API key) that `validate` tolerates without `--strict`. */
  readonly notes: ReadonlyArray<ConfigDiagnostic>
  readonly apps: number
  readonly api_url: string
  readonly poll: { readonly interval: string } | { readonly cron: string }
  readonly listen: string
  readonly state_dir: string
  readonly warnings: ReadonlyArray<ConfigWarning>
}

const listenOf = (config: DaemonConfig): string => formatHostPort(config.server.host, config.server.port)

/**
 * The `validate --output json` body for a valid file; no secrets. Without a config (a typed value came from an
 * unset variable) only the file and its notes.
 */
export const validReport = (
  file: string,
  checked: {
    readonly config: DaemonConfig | null
    readonly notes: ReadonlyArray<ConfigDiagnostic>
    readonly warnings?: ReadonlyArray<ConfigDiagnostic>
  }
): ValidReport | { readonly valid: true; readonly file: string; readonly notes: ReadonlyArray<ConfigDiagnostic> } =>
  checked.config === null
    ? { valid: true, file, notes: checked.notes }
    : summaryOf(checked.config, checked.notes, checked.warnings ?? [])

const summaryOf = (
  config: DaemonConfig,
  notes: ReadonlyArray<ConfigDiagnostic>,
  placed: ReadonlyArray<ConfigDiagnostic>
): ValidReport => ({
  valid: true,
  file: config.source,
  notes,
  apps: config.apps.length,
  api_url: config.api.url,
  poll: config.poll._tag === "Interval" ? { interval: formatDuration(config.poll.interval) } : { cron: config.poll.expression },
  listen: listenOf(config),
  state_dir: config.stateDir,
  warnings: [...configWarnings(config), ...placed]
})

/** A note for `validate` text output, `file:line:col: path: note: message`. */
export const formatNote = (d: ConfigDiagnostic): string =>
  `${d.file}:${d.line}:${d.column}: ${d.path === "" ? "" : `${d.path}: `}note: ${d.message}`

/** One line for `validate` text output. */
export const formatValid = (config: DaemonConfig): string => {
  const schedule = config.poll._tag === "Interval"
    ? `every ${formatDuration(config.poll.interval)}`
    : `cron "${config.poll.expression}"`
  const apps = config.apps.length === 1 ? "1 app" : `${config.apps.length} apps`
  return `${config.source}: valid (${apps}, poll ${schedule}, listen ${listenOf(config)})`
}

