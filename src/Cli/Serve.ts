import { Effect, Layer } from "effect"
import { formatConfigError } from "../Config/Diagnostics.js"
import { formatHostPort, type ListenAddress, listenHint, parseListen } from "../Core/Domain/ListenAddress.js"
import { loadConfigIsolated } from "../Config/Isolated.js"
import { daemonWarnings } from "../Config/Warnings.js"
import { daemonLayer } from "../Daemon/Daemon.js"
import type { DaemonConfig } from "../Core/Domain/App.js"
import { inShard, type Shard } from "../Core/Domain/Shard.js"
import { type Invocation, textOf } from "./Args.js"
import { runsUntilSignalled, setExitCode } from "./ExitCode.js"
import { configPathOf, shardOf } from "./Flags.js"
import { printErr } from "./Output.js"

export interface Flags {
  readonly listen: string | undefined
  readonly stateDir: string | undefined
  readonly shard: Shard | null | string
}

interface ParsedFlags {
  readonly listen: ListenAddress | null
  readonly stateDir: string | null
  readonly shard: Shard | null
}

const parseFlags = (flags: Flags): ParsedFlags | string => {
  const listen = flags.listen === undefined ? null : parseListen(flags.listen)
  if (flags.listen !== undefined && listen === null) {
    return `--listen: invalid address ${JSON.stringify(flags.listen)} (${listenHint})`
  }
  if (typeof flags.shard === "string") return flags.shard
  return { listen, stateDir: flags.stateDir ?? null, shard: flags.shard }
}

/** Flags win over the file, at start-up and after every reload. */
export const applyFlags = (flags: ParsedFlags) => (config: DaemonConfig): DaemonConfig => ({
  ...config,
  server: flags.listen === null ? config.server : { ...config.server, host: flags.listen.host, port: flags.listen.port },
  stateDir: flags.stateDir ?? config.stateDir,
  apps: flags.shard === null ? config.apps : config.apps.filter(inShard(flags.shard)),
  ...(flags.shard === null ? {} : { sharding: { shard: flags.shard, declared: new Set(config.apps.map((a) => a.appId)) } })
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
    for (const warning of daemonWarnings(config)) {
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

export const run = (invocation: Invocation) =>
  runsUntilSignalled(
    runDaemon(configPathOf(invocation), process.env, {
      listen: textOf(invocation, "listen"),
      stateDir: textOf(invocation, "state-dir"),
      shard: shardOf(invocation)
    })
  )
