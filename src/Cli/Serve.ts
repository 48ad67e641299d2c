import { Command, Options } from "@effect/cli"
import { Effect, Layer, Option } from "effect"
import { formatDiagnostics } from "../Config/Diagnostics.js"
import { parseListen } from "../Config/Fields.js"
import { loadConfig, resolveConfigPath } from "../Config/Load.js"
import { daemonLayer } from "../Daemon/Daemon.js"
import type { DaemonConfig } from "../Domain/App.js"
import { setExitCode } from "./ExitCode.js"
import { configOption } from "./Options.js"
import { printErr } from "./Output.js"

export const listenOption = Options.text("listen").pipe(
  Options.withDescription("listen address host:port (overrides server.listen)"),
  Options.optional
)

export const stateDirOption = Options.text("state-dir").pipe(
  Options.withDescription("directory for alert state and the notification outbox (overrides state_dir)"),
  Options.optional
)

/** Apply `--listen` and `--state-dir` to a loaded config; a bad `--listen` is a start-up error. */
export const applyFlags = (
  config: DaemonConfig,
  flags: { readonly listen: Option.Option<string>; readonly stateDir: Option.Option<string> }
): DaemonConfig | string => {
  let next = config
  if (Option.isSome(flags.listen)) {
    const address = parseListen(flags.listen.value)
    if (address === null) return `--listen: invalid address ${JSON.stringify(flags.listen.value)} (use host:port, [::1]:port or :port)`
    next = { ...next, server: { ...next.server, host: address.host, port: address.port } }
  }
  if (Option.isSome(flags.stateDir)) next = { ...next, stateDir: flags.stateDir.value }
  return next
}

/** Load the config and run the daemon until interrupted; start-up problems set exit code 1. */
export const runDaemon = (path: string, env: Record<string, string | undefined>, flags: Parameters<typeof applyFlags>[1]) =>
  Effect.gen(function*() {
    const loaded = yield* Effect.either(loadConfig(path, env))
    if (loaded._tag === "Left") {
      yield* printErr(formatDiagnostics(loaded.left.diagnostics))
      return yield* setExitCode(1)
    }
    const config = applyFlags(loaded.right, flags)
    if (typeof config === "string") {
      yield* printErr(config)
      return yield* setExitCode(1)
    }
    yield* Effect.logInfo("phala-drift starting").pipe(
      Effect.annotateLogs({ config: path, apps: config.apps.length, listen: `${config.server.host}:${config.server.port}` })
    )
    yield* Layer.launch(daemonLayer(config, { host: config.server.host, port: config.server.port }))
  })

export const serveCommand = Command.make(
  "serve",
  { config: configOption, listen: listenOption, stateDir: stateDirOption },
  ({ config, listen, stateDir }) => runDaemon(resolveConfigPath(Option.getOrUndefined(config), process.env), process.env, { listen, stateDir })
).pipe(Command.withDescription("Run the daemon: poll, diff, serve metrics, health and the plan API. Exit 0 on SIGTERM/SIGINT."))
