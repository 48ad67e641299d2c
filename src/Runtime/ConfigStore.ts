import type { Stream } from "effect"
import { Context, Effect, Layer, SubscriptionRef } from "effect"
import type { DaemonConfig } from "../Core/Domain/App.js"
import type { ConfigDiagnostic } from "../Core/Domain/ConfigDiagnostic.js"

export type ReloadResult =
  | { readonly _tag: "Reloaded"; readonly apps: number }
  | { readonly _tag: "Unchanged" }
  /** Stopped half-way because the daemon is shutting down; the previous config stays. */
  | { readonly _tag: "Cancelled" }
  | {
    readonly _tag: "Rejected"
    /** `file:line:col: path: message`, the first `maxDiagnostics`. */
    readonly errors: ReadonlyArray<string>
    readonly diagnostics: ReadonlyArray<ConfigDiagnostic>
    /** Every error found, listed or not. */
    readonly errorCount: number
  }

/** Turns a freshly loaded config into the one to run (CLI flags such as --listen applied again). */
export type ConfigPatch = (config: DaemonConfig) => DaemonConfig

/**
 * The configuration in force. A reload that fails keeps the old config (and says why, with file:line:col); one
 * that succeeds replaces it whole, and readers see it at their next cycle. A reload never fails or dies. The live
 * store, which reads the file, is `Config/ConfigStoreLive.ts`.
 */
export class ConfigStore extends Context.Tag("phala-drift/ConfigStore")<ConfigStore, {
  readonly current: Effect.Effect<DaemonConfig>
  readonly changes: Stream.Stream<DaemonConfig>
  readonly reload: (reason: string) => Effect.Effect<ReloadResult>
  /** Reload only if the file's content differs from what was last loaded (or tried). */
  readonly reloadIfChanged: (reason: string) => Effect.Effect<ReloadResult>
  /** Interrupts a reload in progress, so that shutting down never waits for one. */
  readonly cancelReloads: Effect.Effect<void>
}>() {
  /** A store that never reloads: for tests and one-shot commands. */
  static readonly fixed = (config: DaemonConfig) =>
    Layer.effect(
      ConfigStore,
      Effect.map(SubscriptionRef.make(config), (ref) => ({
        current: SubscriptionRef.get(ref),
        changes: ref.changes,
        reload: () => Effect.succeed<ReloadResult>({ _tag: "Unchanged" }),
        reloadIfChanged: () => Effect.succeed<ReloadResult>({ _tag: "Unchanged" }),
        cancelReloads: Effect.void
      }))
    )
}
