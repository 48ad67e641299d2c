import { Effect } from "effect"

/** A turn of the event loop (`Effect.yieldNow` only reaches the microtask queue): I/O and timers run meanwhile. */
export const loopTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const next = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(next))
})

/**
 * Synchronous jobs run in turns of the event loop, in the order they were asked for, at most about `sliceMs` of them
 * per turn. A job resumed from I/O runs in the microtasks of that I/O; when many answers land together, their jobs run
 * back to back and hold the loop (timers, the HTTP server, other sockets) for all of them: 64 list pages of 3-4 ms
 * each held it ~350 ms. Queued here, they run a slice at a time, and the loop looks at timers and sockets in between.
 */
export const makeTurnTaking = (sliceMs = 4) => {
  const queue: Array<() => void> = []
  let scheduled = false
  const turn = () => {
    scheduled = false
    const started = performance.now()
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      job()
      if (performance.now() - started >= sliceMs) break
    }
    if (queue.length > 0) schedule()
  }
  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(turn)
  }
  return <A>(job: () => A): Effect.Effect<A> =>
    Effect.async<A>((resume) => {
      let wanted = true
      queue.push(() => {
        if (!wanted) return
        try {
          resume(Effect.succeed(job()))
        } catch (defect) {
          resume(Effect.die(defect))
        }
      })
      schedule()
      return Effect.sync(() => {
        wanted = false
      })
    })
}

/**
 * `f` over `items` in order, in stretches of at most about `sliceMs`, the event loop getting a turn between them: a
 * fleet-sized loop of synchronous work (10,000 diffs take ~200 ms) never holds timers and the HTTP server for long.
 */
export const mapSliced = <A, B>(items: ReadonlyArray<A>, f: (item: A) => B, sliceMs = 8): Effect.Effect<Array<B>> =>
  Effect.async<Array<B>>((resume) => {
    const out: Array<B> = []
    const pending = items[Symbol.iterator]()
    let handle: ReturnType<typeof setImmediate> | undefined
    const stretch = () => {
      const started = performance.now()
      try {
        for (let next = pending.next(); !next.done; next = pending.next()) {
          out.push(f(next.value))
          if (performance.now() - started >= sliceMs) break
        }
      } catch (defect) {
        resume(Effect.die(defect))
        return
      }
      if (out.length >= items.length) resume(Effect.succeed(out))
      else handle = setImmediate(stretch)
    }
    handle = setImmediate(stretch)
    return Effect.sync(() => {
      if (handle !== undefined) clearImmediate(handle)
    })
  })
