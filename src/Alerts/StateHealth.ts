import { Clock, Effect, Ref } from "effect"
import type { StateDirHealth, StateWriteProblem } from "../Runtime/AlertsView.js"

export interface StateHealth {
  /** One failed attempt: counted (metric), remembered for the page. The caller logs it. */
  readonly failed: (what: string, path: string, error: string) => Effect.Effect<void>
  readonly recovered: (what: string) => Effect.Effect<void>
  readonly view: (unsavedNotifications: number) => Effect.Effect<StateDirHealth>
}

export const makeStateHealth = (stateDir: string, onFailure: Effect.Effect<void>): Effect.Effect<StateHealth> =>
  Effect.gen(function*() {
    const state = yield* Ref.make({
      failures: 0,
      failing: new Map<string, StateWriteProblem>(),
      last: null as StateWriteProblem | null
    })
    const failed = (what: string, path: string, error: string) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        yield* Ref.update(state, (s) => {
          const problem = { what, path, error, since: s.failing.get(what)?.since ?? at, at }
          return { failures: s.failures + 1, failing: new Map(s.failing).set(what, problem), last: problem }
        })
        yield* onFailure
      })
    const recovered = (what: string) =>
      Ref.update(state, (s) => {
        if (!s.failing.has(what)) return s
        const failing = new Map(s.failing)
        failing.delete(what)
        return { ...s, failing }
      })
    const view = (unsavedNotifications: number) =>
      Effect.map(Ref.get(state), (s): StateDirHealth => ({
        stateDir,
        writeFailures: s.failures,
        failing: [...s.failing.values()].sort((a, b) => a.since - b.since),
        lastFailure: s.last,
        unsavedNotifications
      }))
    return { failed, recovered, view }
  })
