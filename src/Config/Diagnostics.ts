import { Data } from "effect"
import type { ConfigDiagnostic } from "../Core/Domain/ConfigDiagnostic.js"
import { looksLikeSecret, truncate } from "../Core/Echo.js"

export type PathSegment = string | number
export type ConfigPath = ReadonlyArray<PathSegment>

export type { ConfigDiagnostic }

/** A problem before it is placed in the source: where in the tree, and which part of that node to point at. */
export interface Problem {
  readonly path: ConfigPath
  /** `key` points at the mapping key of the last segment (unknown keys), `value` at the node itself. */
  readonly at: "key" | "value"
  readonly message: string
  /** Where in the text, when the problem is not about a node that `path` leads to (a duplicate key, an alias). */
  readonly offset?: number
}

export const problem = (path: ConfigPath, message: string, at: "key" | "value" = "value"): Problem => ({
  path,
  at,
  message
})

export const formatPath = (path: ConfigPath): string =>
  path.reduce<string>(
    (out, segment) =>
      typeof segment === "number" ? `${out}[${segment}]` : out === "" ? segment : `${out}.${segment}`,
    ""
  )

const shownKey = (key: string): string => {
  if (looksLikeSecret(key)) return "<redacted>"
  const cut = truncate(key)
  return cut === key ? key : `${cut}…`
}

/** `formatPath` for people: a key that looks like a secret is not shown, a long one is cut short. */
export const displayPath = (path: ConfigPath): string =>
  formatPath(path.map((segment) => (typeof segment === "number" ? segment : shownKey(segment))))

export const formatDiagnostic = (d: ConfigDiagnostic): string =>
  d.path === ""
    ? `${d.file}:${d.line}:${d.column}: ${d.message}`
    : `${d.file}:${d.line}:${d.column}: ${d.path}: ${d.message}`

/** One diagnostic per line, `file:line:col: path: message`. */
export const formatDiagnostics = (diagnostics: ReadonlyArray<ConfigDiagnostic>): string =>
  diagnostics.map(formatDiagnostic).join("\n")

const byPosition = (a: ConfigDiagnostic, b: ConfigDiagnostic) =>
  a.line - b.line || a.column - b.column || a.path.localeCompare(b.path) || a.message.localeCompare(b.message)

const same = (a: ConfigDiagnostic, b: ConfigDiagnostic) =>
  a.line === b.line && a.column === b.column && a.path === b.path && a.message === b.message

export interface DiagnosticCollector {
  readonly add: (diagnostic: ConfigDiagnostic) => void
  /** Diagnostics added so far, duplicates included. */
  readonly count: () => number
  /** The first `limit` distinct diagnostics in file order, and how many more distinct ones there were. */
  readonly finish: () => { readonly shown: ReadonlyArray<ConfigDiagnostic>; readonly omitted: number }
}

/**
 * Keeps the first `limit` diagnostics in file order, in O(limit) memory and O(n log limit) time whatever the number
 * added: a buffer of 2 × limit is sorted and cut back to `limit` whenever it fills. Duplicates (the same problem
 * reached twice) are counted once, exactly among the ones kept and approximately beyond them.
 */
export const diagnosticCollector = (limit: number): DiagnosticCollector => {
  let kept: Array<ConfigDiagnostic> = []
  let total = 0
  let duplicates = 0
  const compact = () => {
    const sorted = [...kept].sort(byPosition)
    const unique = sorted.filter((d, i) => i === 0 || !same(d, sorted[i - 1] ?? d))
    duplicates += sorted.length - unique.length
    kept = unique.slice(0, limit)
  }
  return {
    add: (diagnostic) => {
      total++
      kept.push(diagnostic)
      if (kept.length >= 2 * limit) compact()
    },
    count: () => total,
    finish: () => {
      compact()
      return { shown: kept, omitted: total - duplicates - kept.length }
    }
  }
}

/** `diagnosticCollector` over a list. */
export const firstDiagnostics = (all: Iterable<ConfigDiagnostic>, limit: number) => {
  const collector = diagnosticCollector(limit)
  for (const d of all) collector.add(d)
  return collector.finish()
}

export class ConfigError extends Data.TaggedError("ConfigError")<{
  /** The first problems in file order (at most `maxDiagnostics`). */
  readonly diagnostics: ReadonlyArray<ConfigDiagnostic>
  /** How many more were found and not listed. */
  readonly omitted: number
}> {
  override get message(): string {
    return formatConfigError(this)
  }
}

export const errorCount = (error: ConfigError): number => error.diagnostics.length + error.omitted

/** The diagnostics one per line, then `… and N more errors` when some were left out. */
export const formatConfigError = (error: ConfigError): string =>
  error.omitted === 0
    ? formatDiagnostics(error.diagnostics)
    : `${formatDiagnostics(error.diagnostics)}\n… and ${error.omitted} more ${error.omitted === 1 ? "error" : "errors"}`

export interface InvalidReport {
  readonly valid: false
  readonly errors: ReadonlyArray<ConfigDiagnostic>
  /** Every error found, including those not listed in `errors`. */
  readonly error_count: number
}

/** The `validate --output json` body for an invalid file. */
export const invalidReport = (error: ConfigError): InvalidReport => ({
  valid: false,
  errors: error.diagnostics.map(({ column, file, line, message, path }) => ({ file, line, column, path, message })),
  error_count: errorCount(error)
})
