import { Effect, Layer, Runtime, Schedule } from "effect"
import { ConfigStore } from "./ConfigStore.js"

/** How often the config file is checked for changes (its content hash, so symlink swaps and editors' renames count). */
export const watchEvery = "2 seconds"

const onSignal = (signal: NodeJS.Signals, handler: () => void) =>
  Effect.acquireRelease(
    Effect.sync(() => process.on(signal, handler)),
    () => Effect.sync(() => process.off(signal, handler))
  )

/** Reloads on SIGHUP and when the config file changes. */
export const ReloadTriggersLayer = Layer.scopedDiscard(
  Effect.gen(function*() {
    const store = yield* ConfigStore
    const runtime = yield* Effect.runtime<never>()
    yield* onSignal("SIGHUP", () => {
      Runtime.runFork(runtime)(store.reload("SIGHUP"))
    })
    yield* store.reloadIfChanged("config file changed").pipe(
      Effect.repeat(Schedule.spaced(watchEvery)),
      Effect.forkScoped
    )
  }).pipe(Effect.annotateLogs({ service: "ConfigReload" }))
)
