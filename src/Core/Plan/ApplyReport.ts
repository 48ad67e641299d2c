import type { AppReport } from "../Domain/Report.js"
import { type Action, type ActionOptions, planActions } from "./Actions.js"

/** What became of one planned action. `skipped`: its CVM changed since the plan, so it was left alone. */
export type ActionResultKind = "ok" | "failed" | "skipped"

export interface ActionResult {
  readonly action: Action
  readonly result: ActionResultKind
  readonly detail: string
}

/** Why nothing was done at all. */
export type Refusal =
  | { readonly _tag: "NoTerminal" }
  | { readonly _tag: "Declined" }
  | { readonly _tag: "TooMany"; readonly planned: number; readonly max: number }

/** `--force` turns the graceful shutdowns of a plan into hard stops. */
export const withForce = (actions: ReadonlyArray<Action>, force: boolean): ReadonlyArray<Action> =>
  force ? actions.map((a) => (a.action === "shutdown" ? { ...a, action: "stop" as const } : a)) : actions

export type Recheck =
  | { readonly _tag: "Go" }
  | { readonly _tag: "Changed"; readonly detail: string }
  | { readonly _tag: "Unreadable"; readonly detail: string }

/**
 * Whether a planned action still holds on a fresh read of its app: the same CVM, still in the status the plan saw,
 * still calling for the same action. Anything else means someone or something acted since the plan; an app that
 * cannot be re-read is not acted on blind.
 */
export const recheck = (action: Action, fresh: AppReport, options: ActionOptions): Recheck => {
  if (fresh.sync === "unknown") {
    const why = fresh.error === null ? "unknown" : `${fresh.error.reason}: ${fresh.error.message}`
    return { _tag: "Unreadable", detail: `the app could not be re-read before acting (${why}): nothing done` }
  }
  const still = planActions(fresh, options).some((d) =>
    d._tag === "Act" && d.action.vm_uuid === action.vm_uuid && d.action.action === action.action && d.action.from === action.from
  )
  if (still) return { _tag: "Go" }
  const cvm = fresh.cvms.find((c) => c.vmUuid === action.vm_uuid)
  if (cvm === undefined) return { _tag: "Changed", detail: "the CVM is gone since the plan" }
  return {
    _tag: "Changed",
    detail: cvm.status === action.from
      ? `the desired state changed since the plan`
      : `changed since the plan: now ${JSON.stringify(cvm.status)}, planned from ${JSON.stringify(action.from)}`
  }
}

/** 0 when every action succeeded or was skipped because its CVM changed (or nothing was to be done); else 1. */
export const applyExitCode = (refusal: Refusal | null, results: ReadonlyArray<ActionResult>): 0 | 1 =>
  refusal !== null || results.some((r) => r.result === "failed") ? 1 : 0

const verb = (action: Action): string =>
  action.action === "start" ? "start" : action.action === "shutdown" ? "shut down" : "stop (forced)"

const target = (a: Action): string => `cvm ${JSON.stringify(a.cvm_name)} (${a.vm_uuid}) of app ${a.app_id}`

/** One line per action, as listed before asking for approval. */
export const actionLines = (actions: ReadonlyArray<Action>): ReadonlyArray<string> =>
  actions.map((a) => `  ${verb(a).padEnd(13)} ${target(a)}: ${JSON.stringify(a.from)} -> ${JSON.stringify(a.to)}`)

export const refusalText = (refusal: Refusal): string => {
  switch (refusal._tag) {
    case "NoTerminal":
      return "Apply refused: no terminal to confirm on. Review the plan, then run again with --auto-approve."
    case "Declined":
      return "Apply cancelled: only 'yes' is accepted."
    case "TooMany":
      return `Apply refused: ${refusal.planned} actions planned, more than --max-actions ${refusal.max}. Nothing was done. ` +
        "Narrow it with --app, or raise --max-actions after reviewing the plan."
  }
}

const mark: Record<ActionResultKind, string> = { ok: "done", failed: "FAILED", skipped: "skipped" }

export const resultLine = (r: ActionResult): string => `  ${mark[r.result].padEnd(7)} ${verb(r.action)} ${target(r.action)}: ${r.detail}`

export const resultsSummary = (results: ReadonlyArray<ActionResult>): string => {
  const count = (kind: ActionResultKind) => results.filter((r) => r.result === kind).length
  return `Apply complete: ${count("ok")} done, ${count("skipped")} skipped, ${count("failed")} failed.`
}

export interface ApplyJson {
  readonly apply_version: "1"
  readonly refused: string | null
  readonly planned: ReadonlyArray<Action>
  readonly results: ReadonlyArray<Action & { readonly result: ActionResultKind; readonly detail: string }>
}

export const applyJson = (
  planned: ReadonlyArray<Action>,
  refusal: Refusal | null,
  results: ReadonlyArray<ActionResult>
): ApplyJson => ({
  apply_version: "1",
  refused: refusal === null ? null : refusal._tag === "TooMany" ? "max_actions" : refusal._tag === "NoTerminal" ? "no_terminal" : "declined",
  planned,
  results: results.map((r) => ({ ...r.action, result: r.result, detail: r.detail }))
})
