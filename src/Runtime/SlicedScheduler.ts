import { FiberRef, type Fiber, Scheduler } from "effect"

/** How often (in fiber operations) a running fiber checks whether its slice of the event loop is used up. */
const checkEvery = 128

/**
 * Effect's default scheduler runs resumed fibers in microtasks and only falls back to a timer after 2,048 drains, so
 * a burst of work (a hundred list pages decoded as they arrive, ten thousand diffs) holds the event loop for as long
 * as it takes: scrapes, probes and webhooks wait behind it. This one does the same until `sliceMs` have passed since
 * the last turn of the event loop, then continues in a `setImmediate`, so I/O and timers run in between. A single
 * step longer than the slice still runs whole; everything else is cut into slices.
 */
export class SlicedScheduler implements Scheduler.Scheduler {
  private sliceStart = performance.now()
  /** Drains waiting for the next turn of the event loop, which runs them until its slice is used up. */
  private parked: Array<() => void> = []
  private turnPending = false

  constructor(private readonly sliceMs: number) {}

  private readonly overdue = (): boolean => performance.now() - this.sliceStart >= this.sliceMs

  private readonly nextTurn = (): void => {
    this.turnPending = false
    this.sliceStart = performance.now()
    const parked = this.parked
    this.parked = []
    for (let i = 0; i < parked.length; i++) {
      if (i > 0 && this.overdue()) {
        this.parked = [...parked.slice(i), ...this.parked]
        this.awaitTurn()
        return
      }
      parked[i]?.()
    }
  }

  private park(run: () => void): void {
    this.parked.push(run)
    this.awaitTurn()
  }

  // one pending turn at a time: two in the same loop iteration would run back to back
  private awaitTurn(): void {
    if (this.turnPending) return
    this.turnPending = true
    setImmediate(this.nextTurn)
  }

  private readonly runner = Scheduler.SchedulerRunner.cached((depth, drain) => {
    if (depth >= 2048 || this.overdue()) this.park(() => drain(0))
    else void Promise.resolve().then(() => drain(depth + 1))
  })

  shouldYield(fiber: Fiber.RuntimeFiber<unknown, unknown>): number | false {
    const ops = fiber.currentOpCount
    const due = ops > fiber.getFiberRef(FiberRef.currentMaxOpsBeforeYield) || (ops % checkEvery === 0 && ops > 0 && this.overdue())
    return due ? fiber.getFiberRef(FiberRef.currentSchedulingPriority) : false
  }

  scheduleTask(task: Scheduler.Task, priority: number, fiber?: Fiber.RuntimeFiber<unknown, unknown>): void {
    this.runner(fiber).scheduleTask(task, priority)
  }
}
