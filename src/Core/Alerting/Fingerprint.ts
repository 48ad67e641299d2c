import { createHash } from "node:crypto"

/**
 * Identity of an alert: sha256 over the label set sorted by name, first 16 hex digits. Annotations are not part of
 * it, so a changing description never starts a new alert.
 */
export const fingerprint = (labels: Readonly<Record<string, string>>): string => {
  const sorted = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16)
}
