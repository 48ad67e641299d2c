import { Command } from "@effect/cli"
import { Effect, Option } from "effect"
import { errorCount, formatConfigError, invalidReport } from "../Config/Diagnostics.js"
import { loadConfigIsolated } from "../Config/Isolated.js"
import { formatValid, resolveConfigPath, validReport } from "../Config/Load.js"
import { configWarnings, formatWarning } from "../Config/Warnings.js"
import { setExitCode } from "./ExitCode.js"
import { configOption, outputOption } from "./Options.js"
import { printOut } from "./Output.js"

export const validateCommand = Command.make(
  "validate",
  { config: configOption, output: outputOption },
  ({ config, output }) =>
    Effect.gen(function*() {
      const path = resolveConfigPath(Option.getOrUndefined(config), process.env)
      // in a worker thread, so that SIGTERM stops even a long check of a huge file at once
      const result = yield* Effect.either(loadConfigIsolated(path, process.env))
      if (result._tag === "Right") {
        const warnings = configWarnings(result.right).map((w) => formatWarning(path, w))
        yield* printOut(
          output === "json" ? JSON.stringify(validReport(result.right)) : [...warnings, formatValid(result.right)].join("\n")
        )
        return
      }
      const error = result.left
      const count = errorCount(error)
      yield* printOut(
        output === "json"
          ? JSON.stringify(invalidReport(error))
          : `${formatConfigError(error)}\n${path}: invalid (${count} ${count === 1 ? "error" : "errors"})`
      )
      yield* setExitCode(1)
    })
).pipe(Command.withDescription("Check a desired-state file; never touches the network. Exit 0 valid (warnings are shown), 1 invalid."))
