import type { Alert, AlertEvent } from "../Domain/Alert.js"

const rank = { pending: 0, firing: 1, resolved: 2 } as const

/** Whether `event` says more about its alert than `known` does: a later episode, or the same one further along. */
const newer = (event: AlertEvent, known: Alert | undefined): boolean => {
  if (known === undefined) return true
  const alert = event.alert
  if (alert.activeAt !== known.activeAt) return alert.activeAt > known.activeAt
  if (rank[alert.state] !== rank[known.state]) return rank[alert.state] > rank[known.state]
  return alert.announced && !known.announced
}

/**
 * The saved alert state brought in line with notifications still queued for receivers. Queuing an event and saving
 * the state that goes with it are one step at run time, but a process killed (kill -9, power loss) between the
 * outbox's write and the state's can leave an event queued that the state does not know: without this, the next
 * evaluation would take the incident for a new one and announce it again under a new event id. Events after
 * `evaluatedAt` (the saved state's time), in order, replace what the state says of their alert when they are newer.
 */
export const adoptQueued = (
  alerts: ReadonlyMap<string, Alert>,
  evaluatedAt: number | null,
  queued: Iterable<AlertEvent>
): ReadonlyMap<string, Alert> => {
  const next = new Map(alerts)
  const unsaved = [...queued].filter((event) => evaluatedAt === null || event.at > evaluatedAt).sort((a, b) => a.at - b.at)
  for (const event of unsaved) {
    if (newer(event, next.get(event.alert.fingerprint))) next.set(event.alert.fingerprint, event.alert)
  }
  return next
}
