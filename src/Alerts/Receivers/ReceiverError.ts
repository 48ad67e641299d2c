import { Data } from "effect"

export type ReceiverFailureReason = "timeout" | "network" | "status"

/**
 * A notification that did not get through. The message names the receiver, never its URL or credentials:
 * Slack and webhook URLs are secrets themselves.
 */
export class ReceiverError extends Data.TaggedError("ReceiverError")<{
  readonly receiver: string
  readonly reason: ReceiverFailureReason
  /** HTTP status when the receiver answered. */
  readonly status: number | null
  /** False for answers that will not change by retrying soon (4xx other than 408/429). */
  readonly transient: boolean
  readonly attempts: number
  readonly detail: string
}> {
  override get message(): string {
    return `receiver ${this.receiver}: ${this.detail} after ${this.attempts} attempt${this.attempts === 1 ? "" : "s"}`
  }
}
