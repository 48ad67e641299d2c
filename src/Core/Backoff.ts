import { Duration, Effect, Random, Schedule } from "effect"

/**
 * The one backoff: exponential from `base` (doubling), each delay jittered by ±20% so that retries of many clients
 * spread out, capped at `cap`. The API client, the notification receivers and the outbox all wait this way.
 */
export interface Backoff {
  readonly base: Duration.Duration
  readonly cap: Duration.Duration
}

export const jitterRange = { min: 0.8, max: 1.2 } as const

/** The wait before retry `attempt` (1-based) for a jitter factor drawn from `jitterRange`. Pure. */
export const backoffDelay = (backoff: Backoff, attempt: number, jitter: number): Duration.Duration =>
  Duration.min(
    backoff.cap,
    Duration.millis(Duration.toMillis(backoff.base) * 2 ** Math.min(Math.max(attempt, 1) - 1, 30) * jitter)
  )

/** `backoffDelay` with a jitter from Effect's `Random` (the TestRandom in tests). */
export const nextBackoff = (backoff: Backoff, attempt: number): Effect.Effect<Duration.Duration> =>
  Effect.map(Random.nextRange(jitterRange.min, jitterRange.max), (jitter) => backoffDelay(backoff, attempt, jitter))

/** As a Schedule, recurring forever (bound it with `Schedule.recurs` or a deadline); outputs the recurrence count. */
export const backoffSchedule = (backoff: Backoff): Schedule.Schedule<number> =>
  Schedule.forever.pipe(Schedule.addDelayEffect((n) => nextBackoff(backoff, n + 1)))
