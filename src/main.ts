#!/usr/bin/env node
// Only the argument parser is loaded up front: help, version and completion answer without Effect, and a command
// loads its own implementation (the daemon, the simulator, prom-client) when it runs (issue 9 item 10).
import { parseArgs } from "./Cli/Args.js"
import { warmConfigLoader } from "./Cli/LoaderWarmup.js"
import { answerWithoutRuntime } from "./Cli/Meta.js"

const parsed = parseArgs(process.argv.slice(2))
if (!answerWithoutRuntime(parsed) && parsed._tag === "Run") {
  warmConfigLoader(parsed.invocation)
  const { runCommand } = await import("./Cli/Run.js")
  runCommand(parsed.invocation)
}
