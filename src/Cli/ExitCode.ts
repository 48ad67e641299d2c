import { Cause, Context, Effect, Exit, Ref } from "effect"
import { constants } from "node:os"

/**
 * What a command asks of the process exit, read once the program ends: the code it set (plan's 0/2/3, validate's
 * 0/1) and whether being interrupted is its normal end.
 */
export interface ExitRequest {
  readonly code: Ref.Ref<number>
  readonly interruptIsShutdown: Ref.Ref<boolean>
}

export class ExitCode extends Context.Tag("phala-drift/ExitCode")<ExitCode, ExitRequest>() {
  static readonly unsafeMake = (): ExitRequest => ({ code: Ref.unsafeMake(0), interruptIsShutdown: Ref.unsafeMake(false) })
}

export const setExitCode = (code: number): Effect.Effect<void, never, ExitCode> =>
  Effect.flatMap(ExitCode, (request) => Ref.set(request.code, code))

/**
 * For commands that run until stopped (`serve`, `simulate`, `demo`): SIGTERM/SIGINT is their clean shutdown, exit 0.
 * Every other command is one-shot, and an interrupt means it has no result (see `interruptedExitCode`).
 */
export const runsUntilSignalled = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | ExitCode> =>
  Effect.zipRight(Effect.flatMap(ExitCode, (request) => Ref.set(request.interruptIsShutdown, true)), self)

/** 128 + the signal's number, as shells report it: 130 for SIGINT, 143 for SIGTERM; 1 when no signal is known. */
export const interruptedExitCode = (signal: NodeJS.Signals | null): number =>
  signal === null ? 1 : 128 + constants.signals[signal]

export interface ProcessOutcome {
  readonly code: number
  /** Said on stderr before exiting, so an interrupted one-shot command is never silent. */
  readonly note: string | null
}

/**
 * The process exit for how the program ended. A one-shot command that was interrupted must not exit 0: CI would read
 * an interrupted `plan` (empty output) as "in sync".
 */
export const processOutcome = (
  exit: Exit.Exit<unknown, unknown>,
  request: { readonly code: number; readonly interruptIsShutdown: boolean },
  signal: NodeJS.Signals | null
): ProcessOutcome => {
  if (Exit.isSuccess(exit)) return { code: typeof exit.value === "number" ? exit.value : request.code, note: null }
  if (!Cause.isInterruptedOnly(exit.cause)) return { code: 1, note: null }
  if (request.interruptIsShutdown) return { code: 0, note: null }
  const code = interruptedExitCode(signal)
  return { code, note: `interrupted${signal === null ? "" : ` by ${signal}`} before finishing: no result (exit ${code})` }
}
