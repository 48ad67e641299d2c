import { Effect } from "effect"

/** A bound on how many effects run at once, handing a released permit straight to the longest waiter. */
export interface Permits {
  readonly withPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * Effect's `Semaphore` wakes every waiter on each release and the losers queue again, nesting a frame each time: with
 * a cycle's worth of requests waiting that costs O(waiters) per request and grows the waiting fibers' stacks. Here a
 * release resumes exactly one waiter (first come, first served). A permit granted to a fiber that is interrupted
 * before it could use it is passed on.
 */
export const makePermits = (count: number): Effect.Effect<Permits> =>
  Effect.sync(() => {
    let free = Math.max(1, count)
    const waiting = new Set<() => void>()

    const releaseUnsafe = (): void => {
      const next = waiting.values().next()
      if (next.done === true) {
        free += 1
        return
      }
      waiting.delete(next.value)
      next.value()
    }
    const release = Effect.sync(releaseUnsafe)

    interface Ticket {
      granted: boolean
    }

    const take = (ticket: Ticket) =>
      Effect.async<void>((resume) => {
        if (free > 0) {
          free -= 1
          ticket.granted = true
          resume(Effect.void)
          return
        }
        const waiter = () => {
          ticket.granted = true
          resume(Effect.void)
        }
        waiting.add(waiter)
        return Effect.sync(() => {
          waiting.delete(waiter)
        })
      })

    const withPermit = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.suspend(() => {
        const ticket: Ticket = { granted: false }
        return Effect.uninterruptibleMask((restore) =>
          restore(take(ticket)).pipe(
            Effect.onInterrupt(() => (ticket.granted ? release : Effect.void)),
            Effect.zipRight(Effect.ensuring(restore(self), release))
          )
        )
      })

    return { withPermit }
  })
