/** Inclusive range of CVM counts; `max` null means unbounded. */
export interface ReplicaRange {
  readonly min: number
  readonly max: number | null
}

export const withinRange = (count: number, range: ReplicaRange): boolean =>
  count >= range.min && (range.max === null || count <= range.max)

/** The one notation for a range, wherever it is shown (plan, alerts, page): `2`, `2..4`, `2+`. */
export const formatReplicaRange = (range: ReplicaRange): string =>
  range.max === null ? `${range.min}+` : range.min === range.max ? String(range.min) : `${range.min}..${range.max}`
