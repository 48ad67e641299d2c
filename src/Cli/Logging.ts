import { Cause, HashMap, Layer, Logger, LogLevel } from "effect"

/** `json` (the default) or `logfmt`; `pretty`, once accepted, now means logfmt: one line per event either way. */
export type LogFormat = "json" | "logfmt"

const levels: Record<string, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None
}

export const parseLogLevel = (text: string | undefined): LogLevel.LogLevel =>
  levels[(text ?? "").trim().toLowerCase()] ?? LogLevel.Info

export const parseLogFormat = (text: string | undefined): LogFormat => {
  const value = (text ?? "").trim().toLowerCase()
  return value === "logfmt" || value === "pretty" ? "logfmt" : "json"
}

/** One event, as the logger sees it: the message parts, the annotations and the cause, if any. */
export interface LogEvent {
  readonly date: Date
  readonly level: LogLevel.LogLevel
  readonly message: unknown
  readonly annotations: ReadonlyArray<readonly [string, unknown]>
  readonly cause: Cause.Cause<unknown>
}

const levelName = (level: LogLevel.LogLevel): string => (level._tag === "Warning" ? "warn" : level.label.toLowerCase())

/** A value in one short line: an error by its name and message, never its stack. */
export const describe = (value: unknown): string => {
  if (typeof value === "string") return value
  if (value instanceof Error) {
    const tag = "_tag" in value && typeof value._tag === "string" ? value._tag : value.name
    return value.message === "" ? tag : `${tag}: ${value.message}`
  }
  if (typeof value === "object" && value !== null && "_tag" in value && typeof value._tag === "string") {
    return "message" in value && typeof value.message === "string" ? `${value._tag}: ${value.message}` : value._tag
  }
  try {
    const text = JSON.stringify(value) ?? String(value)
    return text.length <= 2000 ? text : `${text.slice(0, 2000)}…`
  } catch {
    return String(value)
  }
}

/** A cause in one line: its failures and defects, `; `-separated; "interrupted" when that is all there is. */
export const describeCause = (cause: Cause.Cause<unknown>): string | null => {
  if (Cause.isEmpty(cause)) return null
  const parts = [...Cause.failures(cause), ...Cause.defects(cause)].map(describe)
  if (parts.length === 0) return Cause.isInterrupted(cause) ? "interrupted" : null
  return parts.join("; ")
}

const reserved = new Set(["ts", "level", "msg"])

/** A field's value: primitives and plain data (lists, mappings) as they are, errors and the rest described. */
type FieldValue = string | number | boolean | null | { readonly data: unknown }

const isPlainData = (value: unknown): boolean => {
  if (Array.isArray(value)) return true
  if (typeof value !== "object" || value === null || "_tag" in value || value instanceof Error) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const fieldValue = (value: unknown): FieldValue => {
  if (typeof value === "string" || typeof value === "boolean" || value === null) return value
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value)
  if (isPlainData(value)) {
    try {
      JSON.stringify(value)
      return { data: value }
    } catch {
      return describe(value)
    }
  }
  return describe(value)
}

/** `ts`, `level`, `msg`, then the annotations (as fields), `error` for extra message parts and `cause`. */
export const logFields = (event: LogEvent): ReadonlyArray<readonly [string, FieldValue]> => {
  const parts = Array.isArray(event.message) ? event.message : [event.message]
  const [first, ...rest] = parts
  const fields: Array<readonly [string, FieldValue]> = [
    ["ts", event.date.toISOString()],
    ["level", levelName(event.level)],
    ["msg", first === undefined ? "" : describe(first)]
  ]
  const annotations = [...event.annotations].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  for (const [key, value] of annotations) fields.push([reserved.has(key) ? `field_${key}` : key, fieldValue(value)])
  if (rest.length > 0) fields.push(["error", rest.map(describe).join("; ")])
  const cause = describeCause(event.cause)
  if (cause !== null) fields.push(["cause", cause])
  return fields
}

const logfmtValue = (field: FieldValue): string => {
  if (field === null) return "null"
  if (typeof field === "object") return logfmtValue(JSON.stringify(field.data))
  if (typeof field !== "string") return String(field)
  return field !== "" && /^[^\s"=\\]+$/.test(field)
    ? field
    : `"${field.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t")}"`
}

const logfmtKey = (key: string): string => key.replace(/[^A-Za-z0-9_.-]/g, "_") || "_"

/** One line, no newline at the end. */
export const formatLogLine = (format: LogFormat, event: LogEvent): string => {
  const fields = logFields(event)
  return format === "json"
    ? JSON.stringify(Object.fromEntries(fields.map(([key, value]) => [key, value !== null && typeof value === "object" ? value.data : value])))
    : fields.map(([key, value]) => `${logfmtKey(key)}=${logfmtValue(value)}`).join(" ")
}

export const lineLogger = (format: LogFormat, write: (line: string) => void): Logger.Logger<unknown, void> =>
  Logger.make(({ annotations, cause, date, logLevel, message }) =>
    write(formatLogLine(format, { date, level: logLevel, message, annotations: [...HashMap.toEntries(annotations)], cause }))
  )

/**
 * Every log line goes to stderr so that stdout carries only command output (plan JSON, validate results): JSON
 * (`LOG_FORMAT=logfmt` for logfmt), at `--log-level`, else `LOG_LEVEL`, else info.
 */
export const loggingLayer = (env: Record<string, string | undefined>, levelFlag: string | undefined): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, lineLogger(parseLogFormat(env["LOG_FORMAT"]), (line) => process.stderr.write(`${line}\n`))),
    Logger.minimumLogLevel(parseLogLevel(levelFlag ?? env["LOG_LEVEL"]))
  )
