import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type { Teardown } from "@effect/platform/Runtime"
import { Effect, Ref } from "effect"
import type { Invocation } from "./Args.js"
import { ExitCode, processOutcome } from "./ExitCode.js"
import { loggingLayer } from "./Logging.js"
import { limitHeapGrowth } from "../Support/HeapGrowth.js"

export type Handler = (invocation: Invocation) => Effect.Effect<void, unknown, ExitCode | NodeContext.NodeContext>

// Each command's implementation is loaded only when that command runs: `plan` never loads the simulator or the
// HTTP server, `validate` not even the API client.
const handlers: Readonly<Record<string, () => Promise<{ readonly run: Handler }>>> = {
  serve: () => import("./Serve.js"),
  plan: () => import("./Plan.js"),
  show: () => import("./Show.js"),
  apply: () => import("./Apply.js"),
  validate: () => import("./Validate.js"),
  import: () => import("./Import.js"),
  simulate: () => import("./Simulate.js"),
  demo: () => import("./Demo.js")
}

/** Runs a parsed command on the Node runtime and exits with the code it asks for (see ExitCode.ts). */
export const runCommand = (invocation: Invocation): void => {
  limitHeapGrowth()
  const request = ExitCode.unsafeMake()
  const load = handlers[invocation.command.name]

  const program = Effect.gen(function*() {
    if (load === undefined) return yield* Effect.dieMessage(`no implementation for ${invocation.command.name}`)
    const { run } = yield* Effect.promise(load)
    yield* run(invocation).pipe(Effect.provideService(ExitCode, request))
    return yield* Ref.get(request.code)
  }).pipe(
    // anything a command did not handle itself is logged (to stderr) once, as exit code 1
    Effect.catchAll((error) => Effect.logError("fatal", error).pipe(Effect.as(1))),
    Effect.catchAllDefect((defect) => Effect.logError("fatal", defect).pipe(Effect.as(1))),
    Effect.provide(NodeContext.layer),
    Effect.provide(loggingLayer(process.env, invocation.logLevel))
  )

  // runMain turns SIGINT/SIGTERM into an interrupt without saying which; the exit code of a one-shot command needs
  // it. Registered first so it has run before the teardown; removed after one signal, so a second one kills as usual.
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
}
