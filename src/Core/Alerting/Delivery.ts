import { Duration } from "effect"
import { type Backoff, backoffDelay } from "../Backoff.js"

/**
 * The outbox's delivery rules, as pure steps: which item goes next, and what an attempt's outcome means for it. The
 * outbox (Alerts/Outbox.ts) does the sending, sleeping and file work these decide.
 */

export interface DeliveryPolicy {
  /** After a transient failure (network, timeout, 408/429/5xx): this backoff, per failure in a row. */
  readonly backoff: Backoff
  /** After a permanent answer (other 4xx): retried this much later, in case the receiver is fixed. */
  readonly permanentBackoff: Duration.Duration
  /** Refused permanently for this long: moved to the dead letters. */
  readonly deadLetterAfter: Duration.Duration
}

/** What the loop remembers about its head item between attempts. */
export interface HeadState {
  readonly transientFailures: number
  /** Epoch ms of the first permanent refusal in the current run of them. */
  readonly permanentSince: number | null
}

export const freshHead: HeadState = { transientFailures: 0, permanentSince: null }

export type Attempt =
  | { readonly _tag: "Accepted" }
  | { readonly _tag: "Refused"; readonly transient: boolean }

/**
 * - `Delivered`: the receiver took it; it leaves the queue (its file is deleted).
 * - `RetryAfter`: it stays at the head; try again after `wait`. `result` is how the attempt counts (`retry`:
 *   transient, `failure`: a permanent answer, retried later).
 * - `DeadLetter`: refused for longer than `deadLetterAfter`; it leaves the queue for `dead/`.
 */
export type Decision =
  | { readonly _tag: "Delivered" }
  | { readonly _tag: "RetryAfter"; readonly wait: Duration.Duration; readonly result: "retry" | "failure" }
  | { readonly _tag: "DeadLetter" }

/** The next state of the head, and what to do with it, after an attempt at `now` (epoch ms); `jitter` in [0.8, 1.2). */
export const decide = (
  head: HeadState,
  attempt: Attempt,
  now: number,
  policy: DeliveryPolicy,
  jitter: number
): readonly [Decision, HeadState] => {
  if (attempt._tag === "Accepted") return [{ _tag: "Delivered" }, freshHead]
  if (attempt.transient) {
    const failures = head.transientFailures + 1
    return [
      { _tag: "RetryAfter", wait: backoffDelay(policy.backoff, failures, jitter), result: "retry" },
      { transientFailures: failures, permanentSince: null }
    ]
  }
  const since = head.permanentSince ?? now
  return now - since >= Duration.toMillis(policy.deadLetterAfter)
    ? [{ _tag: "DeadLetter" }, freshHead]
    : [{ _tag: "RetryAfter", wait: policy.permanentBackoff, result: "failure" }, { transientFailures: 0, permanentSince: since }]
}

/** A queued item as the delivery loop sees it. */
export interface Queued<Item> {
  readonly item: Item
  /** Queued but not yet released: the alert state that goes with it is being saved (see `Outbox.release`). */
  readonly held: boolean
}

/** Items go strictly in order: the head, unless it is held; else nothing until the queue changes. */
export const nextItem = <Item>(queue: ReadonlyArray<Queued<Item>>): Item | null => {
  const head = queue[0]
  return head === undefined || head.held ? null : head.item
}
