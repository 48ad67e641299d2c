import { formatVersion, versionInfo } from "../Support/Version.js"
import { type Parsed, textOf } from "./Args.js"
import type { Shell } from "./Commands.js"
import { shells } from "./Commands.js"
import { completionScript } from "./Completion.js"
import { helpText, usageError } from "./Help.js"

const isShell = (text: string | undefined): text is Shell => shells.some((s) => s === text)

/**
 * Help, usage errors, `version` and `completion`: answered here, synchronously, without starting the Effect runtime.
 * True when answered; false for a command that needs the runtime.
 */
export const answerWithoutRuntime = (parsed: Parsed): boolean => {
  switch (parsed._tag) {
    case "Help":
      process.stdout.write(helpText(parsed.command))
      return true
    case "Version":
      process.stdout.write(`${formatVersion(versionInfo())}\n`)
      return true
    case "Invalid":
      process.stderr.write(usageError(parsed.message, parsed.command))
      process.exitCode = 1
      return true
    case "Run": {
      const { command, positional } = parsed.invocation
      if (command.name === "version") {
        const info = versionInfo()
        process.stdout.write(textOf(parsed.invocation, "output") === "json" ? `${JSON.stringify(info)}\n` : `${formatVersion(info)}\n`)
        return true
      }
      if (command.name === "completion" && isShell(positional)) {
        process.stdout.write(completionScript(positional))
        return true
      }
      return false
    }
  }
}
