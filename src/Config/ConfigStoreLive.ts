import * as FileSystem from "@effect/platform/FileSystem"
import { Cause, Clock, Effect, Either, Exit, Fiber, FiberSet, Layer, SubscriptionRef } from "effect"
import { createHash } from "node:crypto"
import type { DaemonConfig } from "../Core/Domain/App.js"
import { type ConfigPatch, ConfigStore, type ReloadResult } from "../Runtime/ConfigStore.js"
import { DaemonEvent, Events } from "../Runtime/Events.js"
import { ConfigError, errorCount, formatDiagnostic } from "./Diagnostics.js"
import type { Env } from "./Interpolate.js"
import { parseConfigIsolated } from "./Isolated.js"
import { maxConfigBytes } from "./Limits.js"
import type { ReadOptions } from "./Load.js"
import { describeDefect, readBounded, readConfigText } from "./Load.js"
import { daemonWarnings } from "./Warnings.js"

/** Checks a config text; the daemon does a big one in a worker thread (`parseConfigIsolated`). */
export type ConfigParser = (
  text: string,
  file: string,
  env: Env,
  options: ReadOptions
) => Effect.Effect<DaemonConfig, ConfigError, FileSystem.FileSystem>

/** What only a restart applies: said at each reload that changes it, since the new value is otherwise ignored. */
const restartWarnings = (previous: DaemonConfig, next: DaemonConfig): ReadonlyArray<string> => [
  ...(next.server.host !== previous.server.host || next.server.port !== previous.server.port
    ? ["server.listen changed: takes effect after a restart"]
    : []),
  ...(next.server.tls?.certFile !== previous.server.tls?.certFile || next.server.tls?.keyFile !== previous.server.tls?.keyFile
    ? ["server.tls changed: takes effect after a restart (certificates are read at start-up)"]
    : []),
  ...(next.stateDir !== previous.stateDir
    ? [`state_dir changed: takes effect after a restart; alert state and notifications stay in ${previous.stateDir}`]
    : [])
]

type Rejected = Extract<ReloadResult, { readonly _tag: "Rejected" }>

const rejected = (error: ConfigError): Rejected => ({
  _tag: "Rejected",
  errors: error.omitted === 0
    ? error.diagnostics.map(formatDiagnostic)
    : [...error.diagnostics.map(formatDiagnostic), `… and ${error.omitted} more`],
  diagnostics: error.diagnostics,
  errorCount: errorCount(error)
})

/**
 * The live `ConfigStore`: reads and checks the file. Whatever happens while loading, even a defect of this code,
 * ends as a rejected reload, logged and published as a `ConfigLoaded` event (shown by
 * `phala_drift_config_last_reload_successful 0`), so the triggers (file watch, SIGHUP, POST /-/reload) keep working.
 */
export const configStoreLive = (options: {
  readonly initial: DaemonConfig
  readonly env: Env
  readonly patch: ConfigPatch
  readonly parse?: ConfigParser
}) =>
  Layer.scoped(
    ConfigStore,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const events = yield* Events
      // reloads run here, whoever asked (file watch, SIGHUP, an HTTP request), so that one place can stop them
      const running = yield* FiberSet.make<ReloadResult>()
      const parse = options.parse ?? parseConfigIsolated
      const ref = yield* SubscriptionRef.make(options.initial)
      const path = options.initial.source

      // regular files only, config and secret files: a FIFO in a file's place would hang the read, and SIGTERM with it
      const regular: ReadOptions = { regularFilesOnly: true }

      // What the file held at the last (attempted) load: its digest, or a mark when it could not be read whole.
      // A file that is not there (an editor's rename) is no change (""); one that is not a regular file is, once.
      const fingerprint = readBounded(path, maxConfigBytes, regular).pipe(
        Effect.map((read) => (read._tag === "Text" ? createHash("sha256").update(read.text).digest("hex") : "too large")),
        Effect.catchTag("NotRegularFile", (error) => Effect.succeed(error.message)),
        Effect.provideService(FileSystem.FileSystem, fs),
        Effect.orElseSucceed(() => "")
      )
      let lastFingerprint = yield* fingerprint
      const lock = yield* Effect.makeSemaphore(1)

      const load = Effect.gen(function*() {
        const now = yield* fingerprint
        if (now !== "") lastFingerprint = now
        const text = yield* readConfigText(path, regular)
        return yield* parse(text, path, options.env, regular)
      }).pipe(Effect.provideService(FileSystem.FileSystem, fs))

      const reject = (reason: string, error: ConfigError): Effect.Effect<ReloadResult> =>
        Effect.gen(function*() {
          const result = rejected(error)
          yield* events.publish(DaemonEvent.ConfigLoaded({ success: false, at: yield* Clock.currentTimeMillis }))
          yield* Effect.logError("config reload rejected; the previous config stays in force").pipe(
            Effect.annotateLogs({ reason, config: path, errors: result.errors, error_count: result.errorCount })
          )
          return result
        })

      const apply = (reason: string, loaded: DaemonConfig): Effect.Effect<ReloadResult> =>
        Effect.gen(function*() {
          const next = options.patch(loaded)
          const previous = yield* SubscriptionRef.get(ref)
          for (const warning of restartWarnings(previous, next)) yield* Effect.logWarning(warning)
          yield* SubscriptionRef.set(ref, next)
          yield* events.publish(DaemonEvent.ConfigLoaded({ success: true, at: yield* Clock.currentTimeMillis }))
          yield* Effect.logInfo("config reloaded").pipe(Effect.annotateLogs({ reason, config: path, apps: next.apps.length }))
          for (const warning of daemonWarnings(next)) {
            yield* Effect.logWarning(`config warning: ${warning.path}: ${warning.message}`).pipe(Effect.annotateLogs({ config: path }))
          }
          return { _tag: "Reloaded", apps: next.apps.length }
        })

      const work = (reason: string): Effect.Effect<ReloadResult> =>
        lock.withPermits(1)(
          load.pipe(
            Effect.either,
            Effect.flatMap((loaded) => (Either.isLeft(loaded) ? reject(reason, loaded.left) : apply(reason, loaded.right))),
            // a defect is our bug, not the file's, but it must not end the reload triggers either
            Effect.catchAllCause((cause) =>
              Cause.isInterruptedOnly(cause)
                ? Effect.failCause(cause)
                : reject(
                  reason,
                  new ConfigError({
                    diagnostics: [{
                      file: path,
                      line: 1,
                      column: 1,
                      path: "",
                      message: `cannot reload: internal error (${describeDefect(Cause.squash(cause))})`
                    }],
                    omitted: 0
                  })
                )
            )
          )
        )

      const reload = (reason: string): Effect.Effect<ReloadResult> =>
        FiberSet.run(running)(work(reason)).pipe(
          Effect.flatMap(Fiber.await),
          Effect.map((exit): ReloadResult => (Exit.isSuccess(exit) ? exit.value : { _tag: "Cancelled" }))
        )

      /** Reload when the file's content changed since the last (attempted) load; cheap enough to poll. */
      const reloadIfChanged = (reason: string) =>
        Effect.gen(function*() {
          const now = yield* fingerprint
          if (now === "" || now === lastFingerprint) return { _tag: "Unchanged" } as const
          return yield* reload(reason)
        })

      return {
        current: SubscriptionRef.get(ref),
        changes: ref.changes,
        reload,
        reloadIfChanged,
        cancelReloads: FiberSet.clear(running)
      }
    })
  )
