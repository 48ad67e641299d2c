import type { AppError, AppReport, Snapshot } from "./Report.js"

/** An app that became unknown since the last cycle (or is unknown at its first), or that is known again. */
export type UnknownTransition =
  | { readonly _tag: "TurnedUnknown"; readonly app: AppReport; readonly error: AppError | null }
  | { readonly _tag: "Recovered"; readonly app: AppReport }

/**
 * What changed between two snapshots, as far as "can we see this app" goes: once per change, so a log line per
 * transition is written once and not every cycle the app stays unknown.
 */
export const unknownTransitions = (previous: Snapshot | undefined, next: Snapshot): ReadonlyArray<UnknownTransition> => {
  const before = new Map((previous?.apps ?? []).map((a) => [a.appId, a.sync] as const))
  return next.apps.flatMap((app): ReadonlyArray<UnknownTransition> => {
    const was = before.get(app.appId)
    if (app.sync === "unknown" && was !== "unknown") return [{ _tag: "TurnedUnknown", app, error: app.error }]
    if (app.sync !== "unknown" && was === "unknown") return [{ _tag: "Recovered", app }]
    return []
  })
}
