import { Data } from "effect"

export type PathSegment = string | number
export type ConfigPath = ReadonlyArray<PathSegment>

export interface ConfigDiagnostic {
  readonly file: string
  /** 1-based. */
  readonly line: number
  /** 1-based. */
  readonly column: number
  /** Key path such as `apps[1].replicas.min`; empty for the document itself. */
  readonly path: string
  readonly message: string
}

/** A problem before it is placed in the source: where in the tree, and which part of that node to point at. */
export interface Problem {
  readonly path: ConfigPath
  /** `key` points at the mapping key of the last segment (unknown keys), `value` at the node itself. */
  readonly at: "key" | "value"
  readonly message: string
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

export const formatDiagnostic = (d: ConfigDiagnostic): string =>
  d.path === ""
    ? `${d.file}:${d.line}:${d.column}: ${d.message}`
    : `${d.file}:${d.line}:${d.column}: ${d.path}: ${d.message}`

/** One diagnostic per line, `file:line:col: path: message`. */
export const formatDiagnostics = (diagnostics: ReadonlyArray<ConfigDiagnostic>): string =>
  diagnostics.map(formatDiagnostic).join("\n")

export const sortDiagnostics = (diagnostics: ReadonlyArray<ConfigDiagnostic>): ReadonlyArray<ConfigDiagnostic> => {
  const seen = new Set<string>()
  return [...diagnostics]
    .sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path))
    .filter((d) => {
      const key = formatDiagnostic(d)
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
}

export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly diagnostics: ReadonlyArray<ConfigDiagnostic>
}> {
  override get message(): string {
    return formatDiagnostics(this.diagnostics)
  }
}

export interface InvalidReport {
  readonly valid: false
  readonly errors: ReadonlyArray<ConfigDiagnostic>
}

/** The `validate --output json` body for an invalid file. */
export const invalidReport = (error: ConfigError): InvalidReport => ({
  valid: false,
  errors: error.diagnostics.map(({ column, file, line, message, path }) => ({ file, line, column, path, message }))
})
