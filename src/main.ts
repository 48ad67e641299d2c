#!/usr/bin/env node
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type { Teardown } from "@effect/platform/Runtime"
import { ValidationError } from "@effect/cli"
import { Cause, Effect, Exit, Ref } from "effect"
import { cli } from "./Cli/Cli.js"
import { ExitCode } from "./Cli/ExitCode.js"
import { loggingLayer } from "./Logging.js"

const program = Effect.gen(function*() {
  const exitCode = yield* Ref.make(0)
  yield* cli(process.argv).pipe(Effect.provideService(ExitCode, exitCode))
  return yield* Ref.get(exitCode)
}).pipe(
  // @effect/cli has already printed usage errors; anything else is logged (to stderr) once, as exit code 1
  Effect.catchAll((error) => ValidationError.isValidationError(error) ? Effect.succeed(1) : Effect.logError("fatal", error).pipe(Effect.as(1))),
  Effect.catchAllDefect((defect) => Effect.logError("fatal", defect).pipe(Effect.as(1))),
  Effect.provide(NodeContext.layer),
  Effect.provide(loggingLayer(process.env, process.stderr.isTTY === true))
)

// the program's value is the exit code a command asked for; an interrupt (SIGTERM/SIGINT) is a clean exit
const teardown: Teardown = (exit, onExit) =>
  onExit(
    Exit.isSuccess(exit)
      ? typeof exit.value === "number" ? exit.value : 0
      : Cause.isInterruptedOnly(exit.cause) ? 0 : 1
  )

NodeRuntime.runMain(program, { disablePrettyLogger: true, disableErrorReporting: true, teardown })
