import { Duration } from "effect"
import type { DaemonConfig } from "../Core/Domain/App.js"
import { formatDuration } from "../Core/Domain/Duration.js"
import type { ConfigDiagnostic, ConfigPath, Problem } from "./Diagnostics.js"
import { problem } from "./Diagnostics.js"
import type { ConfigFile } from "./FileSchema.js"

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

/** The first `api_version` whose CVMs carry `compose_hash` (the CVMInfo shape); the legacy CvmBasicInfo has none. */
export const composeHashSince = "2026-01-21"
/** `api.api_version` when the file does not set it (Build.ts). */
const builtInApiVersion = "2025-10-28"

export const reportsComposeHash = (apiVersion: string): boolean => apiVersion >= composeHashSince

/**
 * `cvm.compose_hash` is compared only when the API reports it: declared under an `api_version` that answers in the
 * legacy shape, it is never checked, and the file would read as if it were. Placed in the file by the caller.
 */
export const composeHashWarnings = (file: ConfigFile): ReadonlyArray<Problem> => {
  const apiVersion = file.api?.api_version ?? builtInApiVersion
  if (reportsComposeHash(apiVersion)) return []
  const message = `never compared: api_version ${JSON.stringify(apiVersion)} answers in the legacy shape, which ` +
    `has no compose_hash; set api.api_version to "${composeHashSince}" or later`
  const declared: ReadonlyArray<ConfigPath> = [
    ...(file.defaults?.cvm?.compose_hash === undefined ? [] : [["defaults", "cvm", "compose_hash"]]),
    ...file.apps.flatMap((app, i): ReadonlyArray<ConfigPath> =>
      app.cvm?.compose_hash === undefined ? [] : [["apps", i, "cvm", "compose_hash"]]
    )
  ]
  return declared.map((path) => problem(path, message))
}

const shownApps = 3

/**
 * `configWarnings` and, for the daemon's log, compose_hash that will never be compared, in one warning for all the
 * apps that declare it (`validate` places each in the file instead: `composeHashWarnings`).
 */
export const daemonWarnings = (config: DaemonConfig): ReadonlyArray<ConfigWarning> => {
  const declaring = reportsComposeHash(config.api.apiVersion)
    ? []
    : config.apps.flatMap((app, i) => (app.cvm.compose_hash === undefined ? [] : [`apps[${i}]`]))
  if (declaring.length === 0) return configWarnings(config)
  const listed = declaring.slice(0, shownApps).join(", ") + (declaring.length > shownApps ? ", …" : "")
  return [...configWarnings(config), {
    path: "cvm.compose_hash",
    message: `declared by ${declaring.length} ${declaring.length === 1 ? "app" : "apps"} (${listed}) but never compared: ` +
      `api_version ${JSON.stringify(config.api.apiVersion)} answers in the legacy shape, which has no compose_hash; ` +
      `set api.api_version to "${composeHashSince}" or later`
  }]
}

/** A placed warning for `validate` text output, `file:line:col: path: warning: message`. */
export const formatPlacedWarning = (d: ConfigDiagnostic): string =>
  `${d.file}:${d.line}:${d.column}: ${d.path === "" ? "" : `${d.path}: `}warning: ${d.message}`

export const formatWarning = (file: string, warning: ConfigWarning): string =>
  `${file}: warning: ${warning.path}: ${warning.message}`
