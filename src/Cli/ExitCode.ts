import { Context, Effect, Ref } from "effect"

/** The process exit code a command asks for (plan's 0/2/3, validate's 0/1); read once the program ends. */
export class ExitCode extends Context.Tag("phala-drift/ExitCode")<ExitCode, Ref.Ref<number>>() {}

export const setExitCode = (code: number): Effect.Effect<void, never, ExitCode> =>
  Effect.flatMap(ExitCode, (ref) => Ref.set(ref, code))
