import { FileSystem } from "@effect/platform"
import type { Stream} from "effect";
import { Clock, Context, Effect, Either, Layer, SubscriptionRef } from "effect"
import { createHash } from "node:crypto"
import { formatDiagnostic } from "../Config/Diagnostics.js"
import { loadConfig, readRegularFile } from "../Config/Load.js"
import type { DaemonConfig } from "../Domain/App.js"
import { Metrics } from "../Metrics/Metrics.js"

export type ReloadResult =
  | { readonly _tag: "Reloaded"; readonly apps: number }
  | { readonly _tag: "Unchanged" }
  | { readonly _tag: "Rejected"; readonly errors: ReadonlyArray<string> }

/** Turns a freshly loaded config into the one to run (CLI flags such as --listen applied again). */
export type ConfigPatch = (config: DaemonConfig) => DaemonConfig

/**
 * The configuration in force. A reload that fails keeps the old config (and says why, with file:line:col);
 * one that succeeds replaces it whole, and readers see it at their next cycle.
 */
export class ConfigStore extends Context.Tag("phala-drift/ConfigStore")<ConfigStore, {
  readonly current: Effect.Effect<DaemonConfig>
  readonly changes: Stream.Stream<DaemonConfig>
  readonly reload: (reason: string) => Effect.Effect<ReloadResult>
  /** Reload only if the file's content differs from what was last loaded (or tried). */
  readonly reloadIfChanged: (reason: string) => Effect.Effect<ReloadResult>
}>() {
  /** A store that never reloads: for tests and one-shot commands. */
  static readonly fixed = (config: DaemonConfig) =>
    Layer.effect(
      ConfigStore,
      Effect.map(SubscriptionRef.make(config), (ref) => ({
        current: SubscriptionRef.get(ref),
        changes: ref.changes,
        reload: () => Effect.succeed<ReloadResult>({ _tag: "Unchanged" }),
        reloadIfChanged: () => Effect.succeed<ReloadResult>({ _tag: "Unchanged" })
      }))
    )

  static readonly layer = (options: {
    readonly initial: DaemonConfig
    readonly env: Record<string, string | undefined>
    readonly patch: ConfigPatch
  }) =>
    Layer.effect(
      ConfigStore,
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const metrics = yield* Metrics
        const ref = yield* SubscriptionRef.make(options.initial)
        const path = options.initial.source
        const digest = (text: string) => createHash("sha256").update(text).digest("hex")
        // regular files only: a FIFO in the file's place would hang the read, and SIGTERM with it (readRegularFile)
        const read = readRegularFile(path).pipe(Effect.provideService(FileSystem.FileSystem, fs), Effect.either)
        // a file that is not there (an editor's rename) is no change; one that is not a regular file is, once
        const fingerprint = (text: Effect.Effect.Success<typeof read>) =>
          Either.isRight(text) ? digest(text.right) : text.left._tag === "NotRegularFile" ? text.left.message : ""
        let lastDigest = fingerprint(yield* read)
        const lock = yield* Effect.makeSemaphore(1)

        const reload = (reason: string) =>
          lock.withPermits(1)(Effect.gen(function*() {
            const text = yield* read
            if (fingerprint(text) !== "") lastDigest = fingerprint(text)
            const loaded = yield* Effect.either(
              loadConfig(path, options.env, { regularFilesOnly: true }).pipe(Effect.provideService(FileSystem.FileSystem, fs))
            )
            const now = new Date(yield* Clock.currentTimeMillis)
            if (Either.isLeft(loaded)) {
              const errors = loaded.left.diagnostics.map(formatDiagnostic)
              yield* metrics.configLoaded(false, now)
              yield* metrics.refresh
              yield* Effect.logError("config reload rejected; the previous config stays in force").pipe(
                Effect.annotateLogs({ reason, config: path, errors })
              )
              return { _tag: "Rejected", errors } as const
            }
            const next = options.patch(loaded.right)
            const previous = yield* SubscriptionRef.get(ref)
            if (next.server.host !== previous.server.host || next.server.port !== previous.server.port) {
              yield* Effect.logWarning("server.listen changed: takes effect after a restart")
            }
            yield* SubscriptionRef.set(ref, next)
            yield* metrics.configLoaded(true, now)
            yield* metrics.refresh
            yield* Effect.logInfo("config reloaded").pipe(Effect.annotateLogs({ reason, config: path, apps: next.apps.length }))
            return { _tag: "Reloaded", apps: next.apps.length } as const
          }))

        /** Reload when the file's content changed since the last (attempted) load; cheap enough to poll. */
        const reloadIfChanged = (reason: string) =>
          Effect.gen(function*() {
            const now = fingerprint(yield* read)
            if (now === "" || now === lastDigest) return { _tag: "Unchanged" } as const
            return yield* reload(reason)
          })

        return {
          current: SubscriptionRef.get(ref),
          changes: ref.changes,
          reload,
          reloadIfChanged
        }
      })
    )
}
