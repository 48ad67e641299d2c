import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { serveSimulator } from "../Simulator/Simulator.js"
import { runsUntilSignalled } from "./ExitCode.js"

export const simulateCommand = Command.make(
  "simulate",
  {
    scenario: Options.text("scenario").pipe(Options.withDescription("scenario YAML file (see docs/simulator.md)")),
    port: Options.integer("port").pipe(Options.withDescription("port to listen on (0 picks a free one)"), Options.withDefault(8787)),
    host: Options.text("host").pipe(Options.withDescription("address to bind"), Options.withDefault("127.0.0.1"))
  },
  ({ host, port, scenario }) =>
    runsUntilSignalled(Effect.scoped(Effect.gen(function*() {
      yield* serveSimulator({ scenarioPath: scenario, host, port })
      return yield* Effect.never
    })))
).pipe(Command.withDescription("Serve the local Phala Cloud API simulator from a scenario file."))
