import { Command, Options } from "@effect/cli"
import { Effect, Layer, Option } from "effect"
import { formatConfigError } from "../Config/Diagnostics.js"
import { formatHostPort, type ListenAddress, listenHint, parseListen } from "../Core/Domain/ListenAddress.js"
import { loadConfigIsolated } from "../Config/Isolated.js"
import { resolveConfigPath } from "../Config/Load.js"
import { configWarnings } from "../Config/Warnings.js"
import { daemonLayer } from "../Daemon/Daemon.js"
import type { DaemonConfig } from "../Core/Domain/App.js"
import { inShard, type Shard } from "../Core/Domain/Shard.js"
import { runsUntilSignalled, setExitCode } from "./ExitCode.js"
import { configOption } from "./Options.js"
import { printErr } from "./Output.js"
import { shardFrom, shardOptions } from "./ShardOptions.js"

export const listenOption = Options.text("listen").pipe(
  Options.withDescription("listen address host:port (overrides server.listen)"),
  Options.optional
)

export const stateDirOption = Options.text("state-dir").pipe(
  Options.withDescription("directory for alert state and the notification outbox (overrides state_dir)"),
  Options.optional
)

export interface Flags {
  readonly listen: Option.Option<string>
  readonly stateDir: Option.Option<string>
  readonly shard: Option.Option<number>
  readonly totalShards: Option.Option<number>
}

interface ParsedFlags {
  readonly listen: ListenAddress | null
  readonly stateDir: string | null
  readonly shard: Shard | null
}

const parseFlags = (flags: Flags): ParsedFlags | string => {
  const listen = Option.isSome(flags.listen) ? parseListen(flags.listen.value) : null
  if (Option.isSome(flags.listen) && listen === null) {
    return `--listen: invalid address ${JSON.stringify(flags.listen.value)} (${listenHint})`
  }
  const shard = shardFrom(flags)
  if (typeof shard === "string") return shard
  return { listen, stateDir: Option.getOrNull(flags.stateDir), shard }
}

/** Flags win over the file, at start-up and after every reload. */
export const applyFlags = (flags: ParsedFlags) => (config: DaemonConfig): DaemonConfig => ({
  ...config,
  server: flags.listen === null ? config.server : { ...config.server, host: flags.listen.host, port: flags.listen.port },
  stateDir: flags.stateDir ?? config.stateDir,
  apps: flags.shard === null ? config.apps : config.apps.filter(inShard(flags.shard))
})

/** Load the config and run the daemon until interrupted; start-up problems set exit code 1. */
export const runDaemon = (path: string, env: Record<string, string | undefined>, flags: Flags) =>
  Effect.gen(function*() {
    const parsed = parseFlags(flags)
    if (typeof parsed === "string") {
      yield* printErr(parsed)
      return yield* setExitCode(1)
    }
    const loaded = yield* Effect.either(loadConfigIsolated(path, env))
    if (loaded._tag === "Left") {
      yield* printErr(formatConfigError(loaded.left))
      return yield* setExitCode(1)
    }
    const patch = applyFlags(parsed)
    const config = patch(loaded.right)
    yield* Effect.logInfo("phala-drift starting").pipe(
      Effect.annotateLogs({
        config: path,
        apps: config.apps.length,
        listen: formatHostPort(config.server.host, config.server.port),
        ...(parsed.shard === null ? {} : { shard: `${parsed.shard.index}/${parsed.shard.total}` })
      })
    )
    for (const warning of configWarnings(config)) {
      yield* Effect.logWarning(`config warning: ${warning.path}: ${warning.message}`).pipe(Effect.annotateLogs({ config: path }))
    }
    const where = formatHostPort(config.server.host, config.server.port)
    yield* Layer.launch(daemonLayer({ config, env, patch })).pipe(
      Effect.catchTags({
        ServeError: (error) =>
          printErr(`cannot listen on ${where}: ${describeListenError(error.cause)}`).pipe(Effect.zipRight(setExitCode(1))),
        TlsFilesError: (error) => printErr(error.message).pipe(Effect.zipRight(setExitCode(1))),
        // alerting needs state_dir: unusable or held by another process is fatal, not a silent loss of notifications
        StateDirError: (error) => printErr(`cannot start: ${error.message}`).pipe(Effect.zipRight(setExitCode(1)))
      })
    )
  })

const describeListenError = (cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : ""
  return code === "EADDRINUSE" ? "address already in use" : code === "EACCES" ? "permission denied" : code === "" ? "unknown error" : code
}

export const serveCommand = Command.make(
  "serve",
  { config: configOption, listen: listenOption, stateDir: stateDirOption, ...shardOptions },
  ({ config, listen, shard, stateDir, totalShards }) =>
    runsUntilSignalled(
      runDaemon(resolveConfigPath(Option.getOrUndefined(config), process.env), process.env, { listen, stateDir, shard, totalShards })
    )
).pipe(Command.withDescription("Run the daemon: poll, diff, serve metrics, health and the plan API. Exit 0 on SIGTERM/SIGINT."))
