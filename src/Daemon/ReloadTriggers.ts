import { Effect, FiberSet, Layer, Schedule } from "effect"
import { ConfigStore } from "../Runtime/ConfigStore.js"

/** How often the config file is checked for changes (its content hash, so symlink swaps and editors' renames count). */
export const watchEvery = "2 seconds"

const onSignal = (signal: NodeJS.Signals, handler: () => void) =>
  Effect.acquireRelease(
    Effect.sync(() => process.on(signal, handler)),
    () => Effect.sync(() => process.off(signal, handler))
  )

// The store's reload never fails; this is the last guard of a trigger that must outlive any one reload.
const logAnyFailure = (what: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.catchAllCause((cause) => Effect.logError(`${what} failed; still watching`, cause)))

/**
 * Reloads on SIGHUP and when the config file changes; each SIGHUP is logged, then the reload's outcome. On shutdown
 * (this layer is released alongside the HTTP server, which waits for requests in flight) a reload in progress is
 * cancelled, so SIGTERM never waits for a big file to be checked.
 */
export const ReloadTriggersLayer = Layer.scopedDiscard(
  Effect.gen(function*() {
    const store = yield* ConfigStore
    yield* Effect.addFinalizer(() => store.cancelReloads)
    // the signal handler runs outside Effect: its reloads are fibers of this layer's scope, ended at shutdown
    const run = yield* FiberSet.makeRuntime<never>()
    const onHangup = Effect.logInfo("SIGHUP received: reloading the config").pipe(
      Effect.zipRight(store.reload("SIGHUP")),
      logAnyFailure("SIGHUP reload")
    )
    yield* onSignal("SIGHUP", () => {
      run(onHangup)
    })
    yield* store.reloadIfChanged("config file changed").pipe(
      logAnyFailure("config file check"),
      Effect.repeat(Schedule.spaced(watchEvery)),
      Effect.forkScoped
    )
  }).pipe(Effect.annotateLogs({ service: "ConfigReload" }))
)
