import { Clock, Effect, Either, Ref } from "effect"
import { SimulatorError } from "./Errors.js"
import type { Scenario } from "./Scenario.js"
import * as World from "./World.js"
import { WebhookTargets } from "./Webhooks.js"

/** One request as the admin API reports it. The API key itself is never kept. */
export interface RequestEntry {
  readonly seq: number
  readonly at: string
  readonly method: string
  readonly path: string
  readonly query: string
  readonly app_id: string | null
  status: number | null
  outcome: "pending" | "responded" | "aborted"
  duration_ms: number | null
  readonly x_phala_version: string | null
  readonly user_agent: string | null
  readonly accept: string | null
  readonly api_key: "valid" | "invalid" | "missing"
  readonly request_id: string | null
}

/** Bounded ring of the most recent requests; entries are completed in place when the response is sent. */
export class RequestLog {
  private entries: Array<RequestEntry> = []
  private start = 0
  private seq = 0

  constructor(readonly capacity: number) {}

  add(entry: Omit<RequestEntry, "seq">): RequestEntry {
    const full: RequestEntry = { ...entry, seq: ++this.seq }
    if (this.entries.length < this.capacity) {
      this.entries.push(full)
    } else {
      this.entries[this.start] = full
      this.start = (this.start + 1) % this.capacity
    }
    return full
  }

  list(): ReadonlyArray<RequestEntry> {
    return [...this.entries.slice(this.start), ...this.entries.slice(0, this.start)].map((e) => ({ ...e }))
  }

  clear(): void {
    this.entries = []
    this.start = 0
  }
}

export interface SimulatorState {
  readonly scenario: Scenario
  /** The world advanced to the current time (scheduled transitions and timeline steps applied). */
  readonly current: Effect.Effect<World.World>
  /** Advances to now, then applies an update atomically. */
  readonly modify: <A>(f: (world: World.World, now: number) => readonly [A, World.World]) => Effect.Effect<A>
  /** Back to the scenario as loaded; the clock of timelines and transitions restarts now. */
  readonly reset: Effect.Effect<void>
  readonly requests: RequestLog
  /** Receivers of signed `cvm.*` webhooks (scenario `webhooks`, `PUT /_sim/webhooks`) and recent deliveries. */
  readonly webhooks: WebhookTargets
  /** Calls `listener` with the world before and after every change (epoch ms of the change). */
  readonly onChange: (listener: (before: World.World, after: World.World, at: number) => void) => void
}

export const requestLogCapacity = 10_000

const build = (scenario: Scenario, now: number): Effect.Effect<World.World, SimulatorError> =>
  Either.match(World.makeWorld(scenario, now), {
    onLeft: (message) => Effect.fail(new SimulatorError({ reason: "scenario", message: `invalid scenario: ${message}` })),
    onRight: Effect.succeed
  })

/** State of one simulator instance; time comes from `Clock`, so tests can drive it with `TestClock`. */
export const makeSimulatorState = (scenario: Scenario): Effect.Effect<SimulatorState, SimulatorError> =>
  Effect.gen(function*() {
    const initial = yield* build(scenario, yield* Clock.currentTimeMillis)
    const ref = yield* Ref.make(initial)
    const listeners: Array<(before: World.World, after: World.World, at: number) => void> = []
    const modify = <A>(f: (world: World.World, now: number) => readonly [A, World.World]): Effect.Effect<A> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.map(
          Ref.modify(ref, (world) => {
            const [a, next] = f(World.advance(world, now), now)
            return [[a, world, next] as const, next]
          }),
          ([a, before, after]) => {
            if (before !== after) for (const listener of listeners) listener(before, after, now)
            return a
          }
        ))
    const webhooks = new WebhookTargets(requestLogCapacity)
    webhooks.targets = (scenario.webhooks ?? []).map((w) => ({ url: w.url, secret: w.secret }))
    return {
      scenario,
      current: modify((world) => [world, world]),
      modify,
      // the scenario was already validated once, so rebuilding it cannot fail
      reset: Effect.flatMap(Clock.currentTimeMillis, (now) => build(scenario, now)).pipe(
        Effect.flatMap((world) => Ref.set(ref, world)),
        Effect.orDie
      ),
      requests: new RequestLog(requestLogCapacity),
      webhooks,
      onChange: (listener) => {
        listeners.push(listener)
      }
    }
  })
