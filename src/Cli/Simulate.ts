import { Effect } from "effect"
import { serveSimulator } from "../Simulator/Simulator.js"
import { integerOf, type Invocation, textOf } from "./Args.js"
import { runsUntilSignalled } from "./ExitCode.js"

export const run = (invocation: Invocation) =>
  runsUntilSignalled(Effect.scoped(Effect.gen(function*() {
    yield* serveSimulator({
      scenarioPath: textOf(invocation, "scenario") ?? "",
      host: textOf(invocation, "host") ?? "127.0.0.1",
      port: integerOf(invocation, "port") ?? 8787
    })
    return yield* Effect.never
  })))
