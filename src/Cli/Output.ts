import { Effect } from "effect"

/** Command output goes to stdout in one write; logs go to stderr through the logger. */
export const printOut = (text: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    process.stdout.write(text.endsWith("\n") ? text : `${text}\n`, () => resume(Effect.void))
  })

export const printErr = (text: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    process.stderr.write(text.endsWith("\n") ? text : `${text}\n`, () => resume(Effect.void))
  })

/** Colour only for a terminal, and never when NO_COLOR is set to anything non-empty (no-color.org). */
export const useColor = (env: Record<string, string | undefined>, isTty: boolean): boolean =>
  isTty && (env["NO_COLOR"] === undefined || env["NO_COLOR"] === "")
