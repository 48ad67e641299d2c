import { Command, Options } from "@effect/cli"
import { FetchHttpClient } from "@effect/platform"
import { Duration, Effect, Either, Layer, Option } from "effect"
import { Events } from "../Runtime/Events.js"
import { PhalaClient } from "../Cloud/PhalaClient.js"
import { formatConfigError } from "../Config/Diagnostics.js"
import { normaliseAppId } from "../Core/Domain/AppId.js"
import { loadConfigIsolated } from "../Config/Isolated.js"
import { resolveConfigPath } from "../Config/Load.js"
import { type DaemonConfig, type DesiredApp, pollPeriod } from "../Core/Domain/App.js"
import { planExitCode, planJson } from "../Core/Plan/PlanJson.js"
import { planText } from "../Core/Plan/PlanText.js"
import { observeAndDiff } from "../Cloud/Observe.js"
import { setExitCode } from "./ExitCode.js"
import { configOption, outputOption } from "./Options.js"
import { printErr, printOut, useColor } from "./Output.js"
import { shardFrom, shardOptions } from "./ShardOptions.js"
import { inShard } from "../Core/Domain/Shard.js"

const appOption = Options.text("app").pipe(
  Options.withDescription("limit the run to this app id (repeatable)"),
  Options.repeated
)

/** Apps selected by `--app`; unknown ids are an error rather than an empty, green plan. */
const selectApps = (config: DaemonConfig, wanted: ReadonlyArray<string>): { apps: ReadonlyArray<DesiredApp>; unknown: ReadonlyArray<string> } => {
  if (wanted.length === 0) return { apps: config.apps, unknown: [] }
  const normalize = (id: string) => Either.getOrElse(normaliseAppId(id), () => id)
  const ids = new Set(wanted.map(normalize))
  const declared = new Set(config.apps.map((a) => a.appId))
  return {
    apps: config.apps.filter((a) => ids.has(a.appId)),
    unknown: wanted.filter((w) => !declared.has(normalize(w)))
  }
}

/** A one-shot cycle may take as long as a daemon cycle would, and at least a minute. */
export const cycleBudget = (config: DaemonConfig): Duration.Duration =>
  Duration.max(pollPeriod(config), Duration.minutes(1))

export const runPlan = (config: DaemonConfig, apps: ReadonlyArray<DesiredApp>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(cycleBudget(config))
    return yield* observeAndDiff(apps, { deadline, concurrency: config.api.concurrency })
  }).pipe(
    Effect.provide(PhalaClient.layer(config.api).pipe(Layer.provide(Layer.merge(FetchHttpClient.layer, Events.Default))))
  )

export const planCommand = Command.make(
  "plan",
  { config: configOption, output: outputOption, app: appOption, ...shardOptions },
  ({ app, config, output, shard, totalShards }) =>
    Effect.gen(function*() {
      const path = resolveConfigPath(Option.getOrUndefined(config), process.env)
      const loaded = yield* Effect.either(loadConfigIsolated(path, process.env))
      if (loaded._tag === "Left") {
        yield* printErr(formatConfigError(loaded.left))
        return yield* setExitCode(1)
      }
      const { apps: selected, unknown } = selectApps(loaded.right, app)
      if (unknown.length > 0) {
        yield* printErr(`--app: not declared in ${path}: ${unknown.join(", ")}`)
        return yield* setExitCode(1)
      }
      const sharding = shardFrom({ shard, totalShards })
      if (typeof sharding === "string") {
        yield* printErr(sharding)
        return yield* setExitCode(1)
      }
      const apps = sharding === null ? selected : selected.filter(inShard(sharding))
      const snapshot = yield* runPlan(loaded.right, apps)
      const plan = planJson(snapshot)
      yield* printOut(
        output === "json"
          ? JSON.stringify(plan, null, 2)
          : planText(snapshot, { color: useColor(process.env, process.stdout.isTTY === true) })
      )
      yield* setExitCode(planExitCode(plan.summary))
    })
).pipe(Command.withDescription("Run one reconcile cycle and print it like `terraform plan`. Exit 0 in sync, 2 drift, 3 unknown, 1 error; 130 (SIGINT) or 143 (SIGTERM) when interrupted: never 0 without a result."))
