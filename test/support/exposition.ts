/**
 * A strict reader of the Prometheus text format for tests: every family's lines contiguous, HELP and TYPE at most once
 * and before its samples, no series twice, label values unescaped. Throws on anything else.
 */
export interface Family {
  readonly name: string
  help: string | null
  type: string | null
  /** Series key (name + sorted labels) → value as written. */
  readonly samples: Map<string, string>
}

const unescapeHelp = (text: string): string => text.replace(/\\(\\|n)/g, (_m, c: string) => (c === "n" ? "\n" : "\\"))

/** `{a="x",b="y"}` → pairs; values unescaped. */
const parseLabels = (body: string, line: string): Array<[string, string]> => {
  const pairs: Array<[string, string]> = []
  let i = 0
  while (i < body.length) {
    const eq = body.indexOf("=\"", i)
    if (eq < 0) throw new Error(`bad labels in ${JSON.stringify(line)}`)
    const name = body.slice(i, eq)
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`bad label name ${JSON.stringify(name)} in ${JSON.stringify(line)}`)
    let value = ""
    let j = eq + 2
    for (; j < body.length && body[j] !== "\""; j++) {
      const c = body[j]
      if (c === "\\") {
        const next = body[j + 1]
        if (next === "n") value += "\n"
        else if (next === "\\" || next === "\"") value += next
        else throw new Error(`bad escape in ${JSON.stringify(line)}`)
        j++
      } else if (c === "\n") {
        throw new Error("raw newline in a label value")
      } else {
        value += c
      }
    }
    if (body[j] !== "\"") throw new Error(`unterminated label value in ${JSON.stringify(line)}`)
    if (pairs.some(([n]) => n === name)) throw new Error(`label ${name} twice in ${JSON.stringify(line)}`)
    pairs.push([name, value])
    i = j + 1
    if (body[i] === ",") i++
    else if (i !== body.length) throw new Error(`bad labels in ${JSON.stringify(line)}`)
  }
  return pairs
}

/** The family a sample of `name` belongs to (histogram and summary suffixes included). */
const familyOf = (name: string, families: Map<string, Family>): string => {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : null
    if (base !== null && (families.get(base)?.type === "histogram" || families.get(base)?.type === "summary")) return base
  }
  return name
}

export const seriesKey = (name: string, labels: ReadonlyArray<readonly [string, string]>): string =>
  `${name}${JSON.stringify([...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`

export const parseExposition = (text: string): Map<string, Family> => {
  const families = new Map<string, Family>()
  const closed = new Set<string>()
  let current: Family | null = null
  const open = (name: string): Family => {
    if (current?.name === name) return current
    if (current !== null) closed.add(current.name)
    if (closed.has(name)) throw new Error(`family ${name} is not contiguous`)
    const family: Family = families.get(name) ?? { name, help: null, type: null, samples: new Map() }
    families.set(name, family)
    current = family
    return family
  }
  if (!text.endsWith("\n")) throw new Error("the exposition does not end with a newline")
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line)
    if (meta !== null) {
      const [, kind, name = "", rest = ""] = meta
      const family = open(name)
      if (family.samples.size > 0) throw new Error(`${kind} of ${name} after its samples`)
      if (kind === "HELP") {
        if (family.help !== null) throw new Error(`second HELP of ${name}`)
        family.help = unescapeHelp(rest)
      } else {
        if (family.type !== null) throw new Error(`second TYPE of ${name}`)
        family.type = rest
      }
      continue
    }
    if (line.startsWith("#")) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)$/.exec(line)
    if (m === null) throw new Error(`bad sample line ${JSON.stringify(line)}`)
    const [, name = "", body = "", value = ""] = m
    if (!/^(?:[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?)|[-+]Inf|NaN)$/i.test(value)) throw new Error(`bad value in ${JSON.stringify(line)}`)
    const family = open(familyOf(name, families))
    const key = seriesKey(name, parseLabels(body, line))
    if (family.samples.has(key)) throw new Error(`series twice: ${key}`)
    family.samples.set(key, value)
  }
  return families
}

/** Families whose name matches, as plain objects with sorted samples (for toEqual). */
export const familiesMatching = (families: Map<string, Family>, keep: (name: string) => boolean) =>
  Object.fromEntries(
    [...families].filter(([name]) => keep(name)).map(([name, f]) => [
      name,
      { help: f.help, type: f.type, samples: Object.fromEntries([...f.samples].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) }
    ])
  )
