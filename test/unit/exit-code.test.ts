import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, FiberId, Ref } from "effect"
import { ExitCode, interruptedExitCode, processOutcome, runsUntilSignalled, setExitCode } from "../../src/Cli/ExitCode.js"

const interrupted = Exit.failCause(Cause.interrupt(FiberId.none))
const oneShot = { code: 0, interruptIsShutdown: false }
const daemon = { code: 0, interruptIsShutdown: true }

describe("processOutcome", () => {
  it("a command that finished exits with the code it asked for", () => {
    expect(processOutcome(Exit.succeed(2), oneShot, null)).toEqual({ code: 2, note: null })
    expect(processOutcome(Exit.succeed(3), oneShot, "SIGTERM")).toEqual({ code: 3, note: null })
    expect(processOutcome(Exit.void, { code: 1, interruptIsShutdown: false }, null)).toEqual({ code: 1, note: null })
  })

  it("a failure or defect exits 1", () => {
    expect(processOutcome(Exit.fail("boom"), oneShot, null).code).toBe(1)
    expect(processOutcome(Exit.die(new Error("bug")), daemon, "SIGTERM").code).toBe(1)
  })

  it("an interrupted one-shot command exits 128 + the signal, never 0, and says so", () => {
    expect(processOutcome(interrupted, oneShot, "SIGTERM")).toEqual({
      code: 143,
      note: "interrupted by SIGTERM before finishing: no result (exit 143)"
    })
    expect(processOutcome(interrupted, oneShot, "SIGINT").code).toBe(130)
    expect(processOutcome(interrupted, oneShot, null)).toEqual({ code: 1, note: "interrupted before finishing: no result (exit 1)" })
  })

  it("for a command that runs until signalled, the interrupt is its clean shutdown", () => {
    expect(processOutcome(interrupted, daemon, "SIGTERM")).toEqual({ code: 0, note: null })
    expect(processOutcome(interrupted, daemon, "SIGINT")).toEqual({ code: 0, note: null })
  })

  it("numbers signals as shells do", () => {
    expect(interruptedExitCode("SIGINT")).toBe(130)
    expect(interruptedExitCode("SIGTERM")).toBe(143)
    expect(interruptedExitCode("SIGHUP")).toBe(129)
  })
})

describe("ExitCode", () => {
  it.effect("commands are one-shot unless they say they run until signalled", () =>
    Effect.gen(function*() {
      const plain = ExitCode.unsafeMake()
      yield* setExitCode(2).pipe(Effect.provideService(ExitCode, plain))
      expect(yield* Ref.get(plain.code)).toBe(2)
      expect(yield* Ref.get(plain.interruptIsShutdown)).toBe(false)

      const serving = ExitCode.unsafeMake()
      expect(yield* runsUntilSignalled(Effect.succeed("served")).pipe(Effect.provideService(ExitCode, serving))).toBe("served")
      expect(yield* Ref.get(serving.interruptIsShutdown)).toBe(true)
    }))
})
