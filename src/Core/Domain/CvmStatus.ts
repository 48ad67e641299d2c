import type { DesiredStatus } from "./App.js"
import type { Health } from "./Report.js"

/** Every status string the API is known to emit (reference §3); anything else is `other` / health `unknown`. */
export const knownStatuses = [
  "running",
  "stopped",
  "exited",
  "stopping",
  "starting",
  "restarting",
  "shutting_down",
  "creating",
  "provisioning",
  "deleting",
  "error"
] as const
export type KnownStatus = (typeof knownStatuses)[number]

const known: ReadonlySet<string> = new Set(knownStatuses)

export const normalizeStatus = (status: string): string => status.trim().toLowerCase()

export const isKnownStatus = (status: string): status is KnownStatus => known.has(normalizeStatus(status))

const transitionalTowards: Record<DesiredStatus, ReadonlySet<string>> = {
  running: new Set(["starting", "restarting", "provisioning", "creating"]),
  stopped: new Set(["stopping", "shutting_down"])
}

export const healthOf = (status: string, desired: DesiredStatus): Health => {
  const s = normalizeStatus(status)
  if (s === desired) return "healthy"
  if (transitionalTowards[desired].has(s)) return "progressing"
  return known.has(s) ? "degraded" : "unknown"
}
