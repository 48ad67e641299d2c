import { Duration } from "effect"
import type { DaemonConfig } from "../Core/Domain/App.js"
import { formatDuration } from "../Core/Domain/Duration.js"

/** A valid setting that will not do what its author expects; `validate` exits 0 but shows it, `serve` logs it. */
export interface ConfigWarning {
  /** Key path, as in diagnostics. */
  readonly path: string
  readonly message: string
}

/**
 * Retries stop at the next tick (the cycle's deadline), so `timeout × (retries + 1)` beyond the interval only
 * means fewer retries, by design. What cannot work: a timeout as long as the interval (a hanging API makes every
 * cycle overrun it, and ticks are skipped), or one so long that not even one retry fits (each retry then runs past
 * the next tick). Cron schedules have no fixed period and are not checked.
 */
const timeoutWarning = (config: DaemonConfig): ReadonlyArray<ConfigWarning> => {
  if (config.poll._tag !== "Interval") return []
  const { retries, timeout } = config.api
  const interval = config.poll.interval
  const values = `api.timeout ${formatDuration(timeout)}, poll.interval ${formatDuration(interval)}`
  if (Duration.greaterThanOrEqualTo(timeout, interval)) {
    return [{
      path: "api.timeout",
      message: `a request may take as long as the poll interval (${values}): when the API hangs, every cycle overruns ` +
        "the interval and ticks are skipped; make api.timeout shorter than poll.interval"
    }]
  }
  if (retries > 0 && Duration.greaterThan(Duration.times(timeout, 2), interval)) {
    return [{
      path: "api.timeout",
      message: `two attempts take longer than the poll interval (${values}, api.retries ${retries}): when the API ` +
        "hangs, each retry runs past the next tick (which is skipped); make api.timeout at most half of poll.interval"
    }]
  }
  return []
}

export const configWarnings = (config: DaemonConfig): ReadonlyArray<ConfigWarning> => [...timeoutWarning(config)]

export const formatWarning = (file: string, warning: ConfigWarning): string =>
  `${file}: warning: ${warning.path}: ${warning.message}`
