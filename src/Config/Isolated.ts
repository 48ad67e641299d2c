import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Schema } from "effect"
import type { DaemonConfig } from "../Core/Domain/App.js"
import { ConfigError } from "./Diagnostics.js"
import type { Env } from "./Interpolate.js"
import { inThreadMaxBytes, loaderHeapMb } from "./Limits.js"
import type { CheckedConfig, ReadOptions, UnsetVariables } from "./Load.js"
import { checkConfig, describeDefect, readConfigText, readSecretFileWith } from "./Load.js"
import { discardLoader, takeLoader } from "./LoaderThread.js"
import { fromWire } from "./Transfer.js"

const Diagnostic = Schema.Struct({
  file: Schema.String,
  line: Schema.Number,
  column: Schema.Number,
  path: Schema.String,
  message: Schema.String
})

const Reply = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Invalid"), diagnostics: Schema.Array(Diagnostic), omitted: Schema.Number }),
  Schema.Struct({
    _tag: Schema.Literal("Valid"),
    config: Schema.Unknown,
    notes: Schema.Array(Diagnostic),
    warnings: Schema.Array(Diagnostic)
  })
)
const decodeReply = Schema.decodeUnknownEither(Reply)

const failure = (file: string, message: string) =>
  new ConfigError({ diagnostics: [{ file, line: 1, column: 1, path: "", message }], omitted: 0 })

const describeWorkerError = (error: unknown): string =>
  typeof error === "object" && error !== null && "code" in error && error.code === "ERR_WORKER_OUT_OF_MEMORY"
    ? `checking it needs more than ${loaderHeapMb} MB of memory`
    : `internal error (${describeDefect(error)})`

const inWorker = (
  text: string,
  file: string,
  env: Env,
  options: ReadOptions,
  unsetVariables: UnsetVariables
): Effect.Effect<CheckedConfig, ConfigError> =>
  Effect.async<CheckedConfig, ConfigError>((resume) => {
    const definedEnv: Record<string, string> = {}
    for (const [k, v] of Object.entries(env)) if (v !== undefined) definedEnv[k] = v
    let done = false
    const finish = (result: Effect.Effect<CheckedConfig, ConfigError>) => {
      if (done) return
      done = true
      resume(result)
      void worker.terminate()
    }
    const worker = takeLoader()
    worker.on("message", (message: unknown) => {
      const reply = decodeReply(message)
      if (reply._tag === "Left") return finish(Effect.fail(failure(file, "cannot check the config: unreadable reply from the loader")))
      if (reply.right._tag === "Invalid") {
        return finish(Effect.fail(new ConfigError({ diagnostics: reply.right.diagnostics, omitted: reply.right.omitted })))
      }
      // The worker built this value from a config that passed every check; it only changed shape to travel.
      const config = reply.right.config === null ? null : fromWire(reply.right.config) as DaemonConfig
      finish(Effect.succeed({ config, notes: reply.right.notes, warnings: reply.right.warnings }))
    })
    worker.on("error", (error) => finish(Effect.fail(failure(file, `cannot check the config: ${describeWorkerError(error)}`))))
    worker.on("exit", (code) => finish(Effect.fail(failure(file, `cannot check the config: the loader stopped (exit ${code})`))))
    worker.postMessage({ text, file, env: definedEnv, regularFilesOnly: options.regularFilesOnly === true, unsetVariables })
    return Effect.sync(() => {
      done = true
      void worker.terminate()
    })
  })

/**
 * `checkConfig` for the daemon and `validate`. A big file (up to the size limit) takes seconds to check: that is
 * done in a worker thread, so the event loop keeps serving /healthz and metrics meanwhile, and SIGTERM is handled
 * at once (interrupting this terminates the worker). The worker's heap is capped: whatever a file manages to ask
 * for, it is the load that fails, not the process. A small file is checked here, quicker than a worker starts.
 */
export const checkConfigIsolated = (
  text: string,
  file: string,
  env: Env,
  options: ReadOptions = {},
  unsetVariables: UnsetVariables = "error"
): Effect.Effect<CheckedConfig, ConfigError, FileSystem.FileSystem> =>
  text.length <= inThreadMaxBytes
    ? Effect.flatMap(FileSystem.FileSystem, (fs) => {
      discardLoader()
      return checkConfig(text, file, env, readSecretFileWith(fs, options), unsetVariables)
    })
    : Effect.logDebug("checking the config in a worker thread").pipe(
      Effect.annotateLogs({ config: file, chars: text.length }),
      Effect.zipRight(inWorker(text, file, env, options, unsetVariables))
    )

const built = (file: string) => (checked: CheckedConfig): Effect.Effect<DaemonConfig, ConfigError> =>
  checked.config === null
    ? Effect.fail(failure(file, "cannot check the config: internal error (no config and no error)"))
    : Effect.succeed(checked.config)

/** `checkConfigIsolated` with every unset `${VAR}` an error: the config the daemon and `plan` run with. */
export const parseConfigIsolated = (
  text: string,
  file: string,
  env: Env,
  options: ReadOptions = {}
): Effect.Effect<DaemonConfig, ConfigError, FileSystem.FileSystem> =>
  Effect.flatMap(checkConfigIsolated(text, file, env, options), built(file))

/** `loadConfig` with a big file checked off the main thread; the file itself is read here, bounded. */
export const loadConfigIsolated = (path: string, env: Env): Effect.Effect<DaemonConfig, ConfigError, FileSystem.FileSystem> =>
  Effect.flatMap(readConfigText(path), (text) => parseConfigIsolated(text, path, env)).pipe(
    Effect.withSpan("Config.loadConfigIsolated", { attributes: { path } })
  )

/** What `validate` checks: the file read, bounded, and checked off the main thread when big. */
export const validateConfigIsolated = (
  path: string,
  env: Env,
  unsetVariables: UnsetVariables
): Effect.Effect<CheckedConfig, ConfigError, FileSystem.FileSystem> =>
  Effect.flatMap(readConfigText(path), (text) => checkConfigIsolated(text, path, env, {}, unsetVariables))
