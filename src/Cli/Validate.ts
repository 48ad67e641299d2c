import { Effect } from "effect"
import { errorCount, formatConfigError, invalidReport } from "../Config/Diagnostics.js"
import { validateConfigIsolated } from "../Config/Isolated.js"
import { formatNote, formatValid, validReport } from "../Config/Load.js"
import { configWarnings, formatPlacedWarning, formatWarning } from "../Config/Warnings.js"
import { flagOf, type Invocation, textOf } from "./Args.js"
import { setExitCode } from "./ExitCode.js"
import { configPathOf } from "./Flags.js"
import { printOut } from "./Output.js"

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

export const run = (invocation: Invocation) =>
  Effect.gen(function*() {
    const path = configPathOf(invocation)
    const json = textOf(invocation, "output") === "json"
    // without --strict an unset ${VAR} is a note, so CI can lint a config without its secrets
    const unsetVariables = flagOf(invocation, "strict") ? "error" : "note"
    // in a worker thread when big, so that SIGTERM stops even a long check of a huge file at once
    const result = yield* Effect.either(validateConfigIsolated(path, process.env, unsetVariables))
    if (result._tag === "Right") {
      const { config, notes } = result.right
      if (json) return yield* printOut(JSON.stringify(validReport(path, result.right)))
      const warnings = config === null
        ? []
        : [...configWarnings(config).map((w) => formatWarning(path, w)), ...result.right.warnings.map(formatPlacedWarning)]
      const summary = config === null
        ? `${path}: valid (${plural(notes.length, "note", "notes")}; values from unset variables were not checked)`
        : formatValid(config)
      return yield* printOut([...notes.map(formatNote), ...warnings, summary].join("\n"))
    }
    const error = result.left
    const count = errorCount(error)
    yield* printOut(
      json ? JSON.stringify(invalidReport(error)) : `${formatConfigError(error)}\n${path}: invalid (${plural(count, "error", "errors")})`
    )
    yield* setExitCode(1)
  })
