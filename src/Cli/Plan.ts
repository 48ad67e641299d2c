import { Duration, Effect, Either, Layer } from "effect"
import { Events } from "../Runtime/Events.js"
import { PhalaClient } from "../Cloud/PhalaClient.js"
import { formatConfigError } from "../Config/Diagnostics.js"
import { normaliseAppId } from "../Core/Domain/AppId.js"
import { parseConfigIsolated } from "../Config/Isolated.js"
import { readConfigText } from "../Config/Load.js"
import { writeFileAtomic } from "../Alerts/AtomicFile.js"
import { configDigest, encodeSavedPlan } from "../Core/Plan/SavedPlan.js"
import { type DaemonConfig, type DesiredApp, noDiscovery, pollPeriod } from "../Core/Domain/App.js"
import { type PlanJson, planExitCode, planJson } from "../Core/Plan/PlanJson.js"
import { planText } from "../Core/Plan/PlanText.js"
import { observeAndDiff, readingOptions } from "../Cloud/Observe.js"
import { inShard, type Shard } from "../Core/Domain/Shard.js"
import { type Invocation, listOfOption, textOf } from "./Args.js"
import { setExitCode } from "./ExitCode.js"
import { configPathOf, shardOf } from "./Flags.js"
import { printErr, printOut, useColor } from "./Output.js"

/**
 * Apps selected by `--app`, each an app_id or the exact `name` of a declared app. One that matches nothing is an
 * error rather than an empty, green plan; a name that several apps share is an error naming their ids.
 */
export const selectApps = (
  apps: ReadonlyArray<DesiredApp>,
  wanted: ReadonlyArray<string>
): { readonly _tag: "Selected"; readonly apps: ReadonlyArray<DesiredApp> } | { readonly _tag: "Invalid"; readonly message: string } => {
  if (wanted.length === 0) return { _tag: "Selected", apps }
  const chosen = new Set<DesiredApp>()
  const problems: Array<string> = []
  for (const w of wanted) {
    const id = Either.getOrElse(normaliseAppId(w), () => w)
    const byId = apps.find((a) => a.appId === id)
    const byName = apps.filter((a) => a.name === w)
    if (byId !== undefined) chosen.add(byId)
    else if (byName.length === 1 && byName[0] !== undefined) chosen.add(byName[0])
    else if (byName.length > 1) problems.push(`${JSON.stringify(w)} is the name of ${byName.length} apps (${byName.map((a) => a.appId).join(", ")}): give the app_id`)
    else problems.push(`${JSON.stringify(w)} is neither the app_id nor the name of a declared app`)
  }
  return problems.length > 0 ? { _tag: "Invalid", message: problems.join("; ") } : { _tag: "Selected", apps: apps.filter((a) => chosen.has(a)) }
}

/** Exit 1 when the API rejected the key (any 401): a plan of `unknown` apps would otherwise read as exit 3. */
export const planOutcome = (plan: PlanJson): { readonly code: number; readonly note: string | null } =>
  plan.apps.some((a) => a.error?.reason === "auth")
    ? { code: 1, note: "API key rejected (HTTP 401): check PHALA_CLOUD_API_KEY or api.api_key" }
    : { code: planExitCode(plan.summary), note: null }

/** A one-shot cycle may take as long as a daemon cycle would, and at least a minute. */
export const cycleBudget = (config: DaemonConfig): Duration.Duration =>
  Duration.max(pollPeriod(config), Duration.minutes(1))

export const runPlan = (config: DaemonConfig, apps: ReadonlyArray<DesiredApp>, shard: Shard | null = null) =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(cycleBudget(config))
    // `--app` and `--shard` narrow what is read; every declared app still counts as declared for discovery
    return yield* observeAndDiff(apps, { deadline, concurrency: config.api.concurrency, ...readingOptions(config), shard })
  }).pipe(
    Effect.provide(PhalaClient.layer(config.api).pipe(Layer.provide(Events.Default)))
  )

/** The config and the digest of the very text it was parsed from (what a saved plan is checked against). */
export const loadConfigWithDigest = (path: string) =>
  Effect.either(
    Effect.flatMap(readConfigText(path), (text) =>
      Effect.map(parseConfigIsolated(text, path, process.env), (config) => ({ config, digest: configDigest(text) })))
  )

export const run = (invocation: Invocation) =>
  Effect.gen(function*() {
    const path = configPathOf(invocation)
    const loaded = yield* loadConfigWithDigest(path)
    if (loaded._tag === "Left") {
      yield* printErr(formatConfigError(loaded.left))
      return yield* setExitCode(1)
    }
    const { config, digest } = loaded.right
    const selected = selectApps(config.apps, listOfOption(invocation, "app"))
    if (selected._tag === "Invalid") {
      yield* printErr(`--app: ${selected.message} (in ${path})`)
      return yield* setExitCode(1)
    }
    const sharding = shardOf(invocation)
    if (typeof sharding === "string") {
      yield* printErr(sharding)
      return yield* setExitCode(1)
    }
    const apps = sharding === null ? selected.apps : selected.apps.filter(inShard(sharding))
    // `--app` asks about those apps only: no discovery of the others
    const reading = listOfOption(invocation, "app").length > 0 ? { ...config, discovery: noDiscovery } : config
    const snapshot = yield* runPlan(reading, apps, sharding)
    const plan = planJson(snapshot)
    const out = textOf(invocation, "out")
    if (out !== undefined) {
      const saved = encodeSavedPlan(plan, planText(snapshot, { color: false }), { path, digest }, listOfOption(invocation, "app"))
      const written = yield* Effect.either(writeFileAtomic(out, saved, { mode: 0o600 }))
      if (written._tag === "Left") {
        yield* printErr(`phala-drift: cannot save the plan to ${out}: ${written.left.message}`)
        return yield* setExitCode(1)
      }
    }
    yield* printOut(
      textOf(invocation, "output") === "json"
        ? JSON.stringify(plan, null, 2)
        : planText(snapshot, { color: useColor(process.env, process.stdout.isTTY === true) }) +
          (out === undefined ? "" : `\nSaved the plan to ${out}. To perform exactly these actions, run: phala-drift apply ${out}\n`)
    )
    const outcome = planOutcome(plan)
    if (outcome.note !== null) yield* printErr(`phala-drift: ${outcome.note}`)
    yield* setExitCode(outcome.code)
  })
