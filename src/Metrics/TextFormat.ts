/** The Prometheus text exposition format (version 0.0.4): escaping, values, label names, family headers. */

export const contentType = "text/plain; version=0.0.4; charset=utf-8"

const labelValueSpecial = /[\\"\n]/
const helpSpecial = /[\\\n]/

/** A label value between double quotes: `\` → `\\`, `"` → `\"`, newline → `\n`; everything else as is. */
export const escapeLabelValue = (value: string): string =>
  labelValueSpecial.test(value)
    ? value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")
    : value

/** HELP text: `\` → `\\`, newline → `\n` (a double quote stays as is). */
export const escapeHelp = (text: string): string =>
  helpSpecial.test(text) ? text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n") : text

/** A sample value as Prometheus parses it back: `+Inf`, `-Inf`, `NaN`, else the shortest round-trip decimal. */
export const formatValue = (value: number): string =>
  Number.isNaN(value) ? "NaN" : value === Infinity ? "+Inf" : value === -Infinity ? "-Inf" : String(value)

const labelNameInvalid = /[^a-zA-Z0-9_]/g

const compareCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * A map's keys as `<prefix><key>` label names, kube-state-metrics `*_labels` style: invalid characters become `_`
 * (a non-empty prefix makes any key valid then), in key order. Keys that sanitise
 * to the same name all get `_conflict1`, `_conflict2`, … in key order, each suffix skipping names already taken, so
 * the result never holds a name twice and does not depend on the map's insertion order.
 */
export const prefixedLabelNames = (
  prefix: string,
  map: Readonly<Record<string, string>>
): ReadonlyArray<readonly [name: string, value: string]> => {
  const keys = Object.keys(map).sort(compareCodeUnits)
  const bases = keys.map((key) => `${prefix}${key.replace(labelNameInvalid, "_")}`)
  const count = new Map<string, number>()
  for (const base of bases) count.set(base, (count.get(base) ?? 0) + 1)
  const taken = new Set(bases.filter((base) => count.get(base) === 1))
  const next = new Map<string, number>()
  return keys.map((key, i) => {
    const base = bases[i] ?? ""
    if (count.get(base) === 1) return [base, map[key] ?? ""] as const
    let n = next.get(base) ?? 0
    let name: string
    do {
      n += 1
      name = `${base}_conflict${n}`
    } while (taken.has(name))
    next.set(base, n)
    taken.add(name)
    return [name, map[key] ?? ""] as const
  })
}

/** `# HELP` and `# TYPE` lines of a family, each ending in a newline. */
export const familyHeader = (name: string, help: string, type: "gauge" | "counter"): string =>
  `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`
