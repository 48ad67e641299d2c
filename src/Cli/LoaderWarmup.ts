import { statSync } from "node:fs"
import { resolveConfigPath } from "../Config/ConfigPath.js"
import { inThreadMaxBytes } from "../Config/Limits.js"
import { prestartLoader } from "../Config/LoaderThread.js"
import { type Invocation, textOf } from "./Args.js"

// the commands that read the config file (apply with a saved plan reads the plan's; a thread started for
// nothing is stopped or left unreferenced)
const readsConfig = new Set(["plan", "serve", "validate", "apply"])

/**
 * Starts the config loader's thread as the command starts, when the file will be too big to check in the main
 * thread: its start-up then overlaps the main thread's (about a second each at 10,000 apps).
 */
export const warmConfigLoader = (invocation: Invocation): void => {
  if (!readsConfig.has(invocation.command.name)) return
  try {
    if (statSync(resolveConfigPath(textOf(invocation, "config"), process.env)).size > inThreadMaxBytes) prestartLoader()
  } catch {
    // no such file, or unreadable: the command says so when it reads it
  }
}
