import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Duration, Effect, Either, Layer } from "effect"
import { formatConfigError } from "../Config/Diagnostics.js"
import { CvmActions } from "../Cloud/CvmActions.js"
import { observeOne } from "../Cloud/Observe.js"
import { PhalaClient } from "../Cloud/PhalaClient.js"
import type { DaemonConfig } from "../Core/Domain/App.js"
import { type Action, fleetActions } from "../Core/Plan/Actions.js"
import {
  type ActionResult,
  actionLines,
  applyExitCode,
  applyJson,
  recheck,
  type Refusal,
  refusalText,
  resultLine,
  resultsSummary,
  withForce
} from "../Core/Plan/ApplyReport.js"
import { planText } from "../Core/Plan/PlanText.js"
import type { SavedPlan } from "../Core/Plan/SavedPlan.js"
import { Events } from "../Runtime/Events.js"
import { flagOf, integerOf, type Invocation, listOfOption, textOf } from "./Args.js"
import { approval, type Ask, terminalAsk } from "./Confirm.js"
import { setExitCode } from "./ExitCode.js"
import { configPathOf } from "./Flags.js"
import { printErr, printOut, useColor } from "./Output.js"
import { cycleBudget, loadConfigWithDigest, runPlan, selectApps } from "./Plan.js"
import { readSavedPlan } from "./Show.js"

const apiLayer = (config: DaemonConfig) =>
  Layer.merge(PhalaClient.layer(config.api), CvmActions.layer(config.api)).pipe(
    Layer.provide(Layer.merge(FetchHttpClient.layer, Events.Default))
  )

/** Re-reads the action's app, then acts only if the plan still holds for its CVM. */
const carryOut = (config: DaemonConfig, action: Action, force: boolean) =>
  Effect.gen(function*() {
    const desired = config.apps.find((a) => a.appId === action.app_id)
    if (desired === undefined) {
      return { action, result: "skipped", detail: "the app is no longer declared in the config" } satisfies ActionResult
    }
    const deadline = Date.now() + Duration.toMillis(cycleBudget(config))
    const fresh = yield* observeOne(desired, { deadline })
    const check = recheck(action, fresh, { force })
    if (check._tag === "Changed") return { action, result: "skipped", detail: check.detail } satisfies ActionResult
    if (check._tag === "Unreadable") return { action, result: "failed", detail: check.detail } satisfies ActionResult
    const client = yield* CvmActions
    const reader = yield* PhalaClient
    const stillWanted = Effect.map(
      observeOne(desired, { deadline: Date.now() + Duration.toMillis(cycleBudget(config)) }),
      (report) => recheck(action, report, { force })._tag === "Go"
    ).pipe(Effect.provideService(PhalaClient, reader))
    const outcome = yield* Effect.either(client.act(action.action, action.vm_uuid, { stillWanted }))
    return Either.match(outcome, {
      onRight: (accepted): ActionResult => ({
        action,
        result: "ok",
        detail: `accepted${accepted.status === null ? "" : `, now ${JSON.stringify(accepted.status)}`}${
          accepted.attempts > 1 ? ` (after ${accepted.attempts} attempts)` : ""
        }`
      }),
      onLeft: (failure): ActionResult => ({
        action,
        result: failure.reason === "superseded" ? "skipped" : "failed",
        detail: `${failure.reason}: ${failure.message}${failure.attempts > 1 ? ` (${failure.attempts} attempts)` : ""}`
      })
    })
  })

interface ApplyOptions {
  readonly json: boolean
  readonly force: boolean
  readonly maxActions: number
  readonly autoApprove: boolean
  readonly terminal: boolean
  readonly ask: Ask
}

/** The guards and the actions, once the planned actions are known; prints the outcome and sets the exit code. */
export const applyPlanned = (config: DaemonConfig, planned: ReadonlyArray<Action>, options: ApplyOptions) =>
  Effect.gen(function*() {
    const finish = (refusal: Refusal | null, results: ReadonlyArray<ActionResult>) =>
      Effect.gen(function*() {
        if (options.json) yield* printOut(JSON.stringify(applyJson(planned, refusal, results), null, 2))
        else if (refusal !== null) yield* printErr(refusalText(refusal))
        else if (results.length > 0) yield* printOut(`\n${resultsSummary(results)}`)
        yield* setExitCode(applyExitCode(refusal, results))
      })

    if (planned.length === 0) {
      if (!options.json) yield* printOut("No changes: nothing to apply.")
      return yield* finish(null, [])
    }
    if (!options.json) {
      yield* printOut(`phala-drift will perform ${planned.length === 1 ? "this action" : `these ${planned.length} actions`}:\n${actionLines(planned).join("\n")}`)
    }
    if (planned.length > options.maxActions) {
      return yield* finish({ _tag: "TooMany", planned: planned.length, max: options.maxActions }, [])
    }
    const refused = yield* approval({ autoApprove: options.autoApprove, terminal: options.terminal }, options.ask)
    if (refused !== null) return yield* finish(refused, [])

    if (!options.json) yield* printOut("")
    const results: Array<ActionResult> = []
    // one at a time: each is re-read right before it is taken, and a failure is seen before the next
    for (const action of planned) {
      const result = yield* carryOut(config, action, options.force)
      results.push(result)
      if (!options.json) yield* printOut(resultLine(result))
    }
    return yield* finish(null, results)
  }).pipe(Effect.provide(apiLayer(config)))

export const run = (invocation: Invocation) =>
  Effect.gen(function*() {
    const json = textOf(invocation, "output") === "json"
    const force = flagOf(invocation, "force")
    const maxActions = integerOf(invocation, "max-actions") ?? 10
    if (maxActions < 0) {
      yield* printErr("phala-drift: --max-actions must be 0 or more")
      return yield* setExitCode(1)
    }

    let saved: SavedPlan | null = null
    if (invocation.positional !== undefined) {
      const read = yield* readSavedPlan(invocation.positional)
      if (Either.isLeft(read)) {
        yield* printErr(`phala-drift: ${read.left}`)
        return yield* setExitCode(1)
      }
      saved = read.right
    }

    const path = saved !== null && textOf(invocation, "config") === undefined ? saved.configPath : configPathOf(invocation)
    const loaded = yield* loadConfigWithDigest(path)
    if (loaded._tag === "Left") {
      yield* printErr(formatConfigError(loaded.left))
      return yield* setExitCode(1)
    }
    const { config, digest } = loaded.right
    if (saved !== null && saved.configDigest !== digest) {
      yield* printErr(
        `phala-drift: the saved plan ${invocation.positional ?? ""} is stale: ${path} changed since the plan was made ` +
          `(${saved.configDigest}, now ${digest}). Nothing was done. Run \`phala-drift plan --out FILE\` again.`
      )
      return yield* setExitCode(1)
    }
    const wanted = listOfOption(invocation, "app")
    const selected = selectApps(config.apps, wanted)
    if (selected._tag === "Invalid") {
      yield* printErr(`--app: ${selected.message} (in ${path})`)
      return yield* setExitCode(1)
    }

    let planned: ReadonlyArray<Action>
    if (saved !== null) {
      const ids = new Set(selected.apps.map((a) => a.appId))
      planned = withForce(saved.actions.filter((a) => wanted.length === 0 || ids.has(a.app_id)), force)
      if (!json) yield* printOut(`Saved plan ${invocation.positional ?? ""}, made ${saved.generatedAt} from ${saved.configPath}.\n`)
    } else {
      const snapshot = yield* runPlan(config, selected.apps)
      planned = fleetActions(snapshot.apps, { force }).actions
      if (!json) yield* printOut(planText(snapshot, { color: useColor(process.env, process.stdout.isTTY === true), force }))
    }

    yield* applyPlanned(config, planned, {
      json,
      force,
      maxActions,
      autoApprove: flagOf(invocation, "auto-approve"),
      terminal: process.stdin.isTTY === true,
      ask: terminalAsk
    })
  })
