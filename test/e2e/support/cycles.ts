/**
 * Waiting on the daemon's own counters instead of the wall clock: "nothing more arrives" is shown after a known
 * number of reconcile cycles and an empty outbox, however slow the machine is.
 */
import { waitFor } from "./harness.js"

const scrape = async (base: string): Promise<string> => (await fetch(`${base}/metrics`)).text()

/** The value of one series (its name and labels exactly as exposed), NaN when it is absent. */
export const seriesValue = (exposition: string, series: string): number => {
  const line = exposition.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1))
}

/** Reconcile cycles finished so far, and how many of them took longer than `slowerThan` seconds (a bucket bound). */
export const cycleStats = async (base: string, slowerThan = 5): Promise<{ readonly done: number; readonly slow: number }> => {
  const text = await scrape(base)
  const done = seriesValue(text, "phala_drift_poll_duration_seconds_count")
  return { done, slow: done - seriesValue(text, `phala_drift_poll_duration_seconds_bucket{le="${slowerThan}"}`) }
}

/** Waits until `n` more reconcile cycles have finished (each evaluates alerts and queues what they announce). */
export const afterCycles = async (base: string, n: number, timeoutMs = 60_000): Promise<void> => {
  const { done } = await cycleStats(base)
  await waitFor(`${n} more reconcile cycles`, async () => ((await cycleStats(base)).done >= done + n ? true : undefined), timeoutMs, 200)
}

/** Waits until the receiver's outbox is empty: everything queued so far was delivered (or given up). */
export const outboxEmpty = async (base: string, receiver: string, timeoutMs = 60_000): Promise<void> => {
  await waitFor(`the outbox of ${receiver} to drain`, async () =>
    seriesValue(await scrape(base), `phala_drift_notification_queue_length{receiver="${receiver}"}`) === 0 ? true : undefined, timeoutMs, 200)
}

/**
 * Quiet: `cycles` more cycles have run (a re-announcement would have been queued by then) and the outbox has
 * drained (it would have been sent). What the receiver holds now is all it gets.
 */
export const settled = async (base: string, receiver: string, cycles = 3): Promise<void> => {
  await afterCycles(base, cycles)
  await outboxEmpty(base, receiver)
}
