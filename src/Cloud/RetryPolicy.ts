import { Clock, Duration, Effect, Option, Schedule } from "effect"
import { type Backoff, backoffSchedule } from "../Core/Backoff.js"

/** 250 ms doubling to at most 10 s. */
export const apiBackoff: Backoff = { base: Duration.millis(250), cap: Duration.seconds(10) }
/** Without a deadline, a server asking for a longer pause ends the retries: the next cycle tries again anyway. */
export const maxUnboundedWait = Duration.minutes(5)

/** What the retry policy needs to know about a failed attempt. */
export interface Retryable {
  readonly transient: boolean
  /** From `Retry-After` on a 429 or 503. */
  readonly retryAfter: Duration.Duration | null
  /** Epoch ms at which the caller's cycle ends; no retry whose wait would end after it. */
  readonly deadline: number | undefined
}

export const honoursRetryAfter = (status: number): boolean => status === 429 || status === 503

/** `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), relative to `now` (epoch ms). */
export const parseRetryAfter = (value: string, now: number): Option.Option<Duration.Duration> => {
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Option.some(Duration.seconds(Number(trimmed)))
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? Option.none() : Option.some(Duration.millis(Math.max(0, at - now)))
}

export interface RetryPolicyOptions<In> {
  readonly retries: number
  readonly onRetry: (failure: In, wait: Duration.Duration) => Effect.Effect<void>
}

/**
 * Exponential backoff (250 ms × 2, jittered, capped at 10 s) for transient failures only, waiting at least
 * `Retry-After` when the server sent one, and stopping instead of sleeping past the failure's deadline. Everything
 * per call comes with the failure, so one policy serves every request of a client.
 */
export const retryPolicy = <In extends Retryable>(
  options: RetryPolicyOptions<In>
): Schedule.Schedule<Duration.Duration, In> =>
  backoffSchedule(apiBackoff).pipe(
    Schedule.intersect(Schedule.recurs(options.retries)),
    Schedule.intersect(Schedule.identity<In>()),
    Schedule.whileInput((failure) => failure.transient),
    Schedule.modifyDelay(([, failure], delay) =>
      failure.retryAfter === null ? delay : Duration.max(delay, failure.retryAfter)
    ),
    Schedule.delays,
    Schedule.checkEffect((failure, wait) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const fits = failure.deadline === undefined
          ? Duration.lessThanOrEqualTo(wait, maxUnboundedWait)
          : now + Duration.toMillis(wait) <= failure.deadline
        return fits ? Effect.as(options.onRetry(failure, wait), true) : Effect.succeed(false)
      })
    )
  )

/**
 * `Effect.retry(self, policy)`, with the schedule started only once `self` has failed: the first failure is fed to it
 * as `Effect.retry` would, so the waits and the attempts are the same, and an attempt that succeeds pays nothing.
 */
export const retryFailed = <In, Out>(policy: Schedule.Schedule<Out, In>) =>
<A, R>(self: Effect.Effect<A, In, R>): Effect.Effect<A, In, R> =>
  Effect.catchAll(self, (first) => {
    let replayed = false
    return Effect.retry(
      Effect.suspend(() => {
        if (replayed) return self
        replayed = true
        return Effect.fail(first)
      }),
      policy
    )
  })
