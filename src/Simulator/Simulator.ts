/** Public entry points of the Phala Cloud API simulator (DESIGN.md §8), used by `simulate`, `demo`, tests and benchmarks. */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, type Scope } from "effect"
import type { SimulatorError } from "./Errors.js"
import { decodeScenario, loadScenario, type Scenario, type ScenarioInput } from "./Scenario.js"
import { listen } from "./Server.js"
import { makeSimulatorState, type SimulatorState } from "./State.js"
import { startWebhooks } from "./Webhooks.js"

export { SimulatorError } from "./Errors.js"
export { decodeScenario, loadScenario, parseScenario, type Scenario, type ScenarioInput } from "./Scenario.js"
export { makeSimulatorState, type RequestEntry, type SimulatorState } from "./State.js"
export { syntheticApps } from "./World.js"

export interface ListenOptions {
  /** Defaults to 127.0.0.1. */
  readonly host?: string
  /** 0 picks a free port. */
  readonly port: number
}

export interface SimulatorOptions extends ListenOptions {
  readonly scenarioPath: string
}

export interface RunningSimulator {
  readonly port: number
  /** Base URL without `/api/v1`, e.g. `http://127.0.0.1:8787`. */
  readonly url: string
  readonly state: SimulatorState
}

/** Serves a decoded scenario until the scope closes. */
export const serveScenario = (
  scenario: Scenario,
  options: ListenOptions
): Effect.Effect<RunningSimulator, SimulatorError, Scope.Scope> =>
  Effect.gen(function*() {
    const state = yield* makeSimulatorState(scenario)
    yield* startWebhooks(state)
    const { port, url } = yield* listen(state, { host: options.host ?? "127.0.0.1", port: options.port })
    yield* Effect.log(`phala-drift simulator listening on ${url}`)
    return { port, url, state }
  })

/** Serves a scenario object as written in YAML (decoded and checked first); for tests and benchmarks. */
export const serveScenarioInput = (
  input: ScenarioInput | unknown,
  options: ListenOptions
): Effect.Effect<RunningSimulator, SimulatorError, Scope.Scope> =>
  Effect.flatMap(decodeScenario(input), (scenario) => serveScenario(scenario, options))

/** Loads the scenario file and serves it until the scope closes. */
export const serveSimulator = (
  options: SimulatorOptions
): Effect.Effect<RunningSimulator, SimulatorError, Scope.Scope | FileSystem.FileSystem> =>
  Effect.flatMap(loadScenario(options.scenarioPath), (scenario) =>
    serveScenario(scenario, options.host === undefined ? { port: options.port } : { host: options.host, port: options.port }))
