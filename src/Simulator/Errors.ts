import { Data } from "effect"

/** Start-up failure of the simulator: a bad scenario file or a port that cannot be bound. */
export class SimulatorError extends Data.TaggedError("SimulatorError")<{
  readonly reason: "scenario" | "listen"
  readonly message: string
  readonly cause?: unknown
}> {}
