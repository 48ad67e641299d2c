import { Clock, Effect, Ref } from "effect"

/** One part of `state_dir` that cannot be written right now. */
export interface StateWriteProblem {
  /** `alert state`, `lock`, `outbox <receiver>`, `state_dir`. */
  readonly what: string
  readonly path: string
  readonly error: string
  /** Epoch ms of the first failure of this run of failures. */
  readonly since: number
  /** Epoch ms of the latest failure. */
  readonly at: number
}

/** What the status page shows about `state_dir`. */
export interface StateDirHealth {
  readonly stateDir: string
  /** Failed write attempts since start (`phala_drift_state_write_failures_total`). */
  readonly writeFailures: number
  /** Parts failing now; empty when every write works. */
  readonly failing: ReadonlyArray<StateWriteProblem>
  readonly lastFailure: StateWriteProblem | null
  /** Notifications held in memory only (lost if the process stops before the disk works again). */
  readonly unsavedNotifications: number
}

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
