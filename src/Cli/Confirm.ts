import { Effect } from "effect"
import { createInterface } from "node:readline"
import type { Refusal } from "../Core/Plan/ApplyReport.js"

/** Asks one question; null when the input ended without an answer. */
export type Ask = (prompt: string) => Effect.Effect<string | null>

export const approvalPrompt = "\nDo you want to perform these actions?\n" +
  "  phala-drift will perform the actions described above.\n" +
  "  Only 'yes' will be accepted to approve.\n\n" +
  "  Enter a value: "

/** Exactly `yes` (surrounding blanks aside), as terraform accepts: `y`, `YES` or an empty line are a no. */
export const isApproval = (answer: string | null): boolean => answer !== null && answer.trim() === "yes"

/**
 * Whether the apply may go ahead: `--auto-approve`, or a `yes` typed on a terminal. Without a terminal there is
 * nobody to ask, and an apply piped from a script must say `--auto-approve` explicitly.
 */
export const approval = (
  options: { readonly autoApprove: boolean; readonly terminal: boolean },
  ask: Ask
): Effect.Effect<Refusal | null> => {
  if (options.autoApprove) return Effect.succeed(null)
  if (!options.terminal) return Effect.succeed({ _tag: "NoTerminal" })
  return Effect.map(ask(approvalPrompt), (answer): Refusal | null => (isApproval(answer) ? null : { _tag: "Declined" }))
}

/** The question on stderr (stdout stays the command's output), the answer from stdin. */
export const terminalAsk: Ask = (prompt) =>
  Effect.async<string | null>((resume) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false })
    let answered = false
    process.stderr.write(prompt)
    rl.once("line", (line) => {
      answered = true
      rl.close()
      resume(Effect.succeed(line))
    })
    rl.once("close", () => {
      if (!answered) resume(Effect.succeed(null))
    })
    return Effect.sync(() => rl.close())
  })
