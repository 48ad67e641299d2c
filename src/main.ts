#!/usr/bin/env node
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type { Teardown } from "@effect/platform/Runtime"
import { ValidationError } from "@effect/cli"
import { Effect, Ref } from "effect"
import { cli } from "./Cli/Cli.js"
import { ExitCode, processOutcome } from "./Cli/ExitCode.js"
import { loggingLayer } from "./Cli/Logging.js"

const request = ExitCode.unsafeMake()

const program = Effect.gen(function*() {
  yield* cli(process.argv).pipe(Effect.provideService(ExitCode, request))
  return yield* Ref.get(request.code)
}).pipe(
  // @effect/cli has already printed usage errors; anything else is logged (to stderr) once, as exit code 1
  Effect.catchAll((error) => ValidationError.isValidationError(error) ? Effect.succeed(1) : Effect.logError("fatal", error).pipe(Effect.as(1))),
  Effect.catchAllDefect((defect) => Effect.logError("fatal", defect).pipe(Effect.as(1))),
  Effect.provide(NodeContext.layer),
  Effect.provide(loggingLayer(process.env, process.stderr.isTTY === true))
)

// runMain turns SIGINT/SIGTERM into an interrupt without saying which; the exit code of a one-shot command needs it.
// Registered first so it has run before the teardown; removed after one signal, so a second one kills as usual.
let signalled: NodeJS.Signals | null = null
const remember = (signal: NodeJS.Signals) => {
  signalled ??= signal
  process.off("SIGINT", remember)
  process.off("SIGTERM", remember)
}
process.on("SIGINT", remember)
process.on("SIGTERM", remember)

const teardown: Teardown = (exit, onExit) => {
  process.off("SIGINT", remember)
  process.off("SIGTERM", remember)
  const outcome = processOutcome(
    exit,
    { code: Effect.runSync(Ref.get(request.code)), interruptIsShutdown: Effect.runSync(Ref.get(request.interruptIsShutdown)) },
    signalled
  )
  if (outcome.note !== null) process.stderr.write(`phala-drift: ${outcome.note}\n`)
  onExit(outcome.code)
}

NodeRuntime.runMain(program, { disablePrettyLogger: true, disableErrorReporting: true, teardown })
