import { Command } from "@effect/cli"
import { Effect, Option } from "effect"
import { formatDiagnostics, invalidReport } from "../Config/Diagnostics.js"
import { formatValid, loadConfig, resolveConfigPath, validReport } from "../Config/Load.js"
import { setExitCode } from "./ExitCode.js"
import { configOption, outputOption } from "./Options.js"
import { printOut } from "./Output.js"

export const validateCommand = Command.make(
  "validate",
  { config: configOption, output: outputOption },
  ({ config, output }) =>
    Effect.gen(function*() {
      const path = resolveConfigPath(Option.getOrUndefined(config), process.env)
      const result = yield* Effect.either(loadConfig(path, process.env))
      if (result._tag === "Right") {
        yield* printOut(output === "json" ? JSON.stringify(validReport(result.right)) : formatValid(result.right))
        return
      }
      const error = result.left
      const diagnostics = error.diagnostics
      yield* printOut(
        output === "json"
          ? JSON.stringify(invalidReport(error))
          : `${formatDiagnostics(diagnostics)}\n${path}: invalid (${diagnostics.length} ${diagnostics.length === 1 ? "error" : "errors"})`
      )
      yield* setExitCode(1)
    })
).pipe(Command.withDescription("Check a desired-state file; never touches the network. Exit 0 valid, 1 invalid."))
