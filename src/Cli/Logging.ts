import { Layer, Logger, LogLevel } from "effect"

export type LogFormat = "json" | "logfmt" | "pretty"

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

export const parseLogFormat = (text: string | undefined, stderrIsTty: boolean): LogFormat => {
  const value = (text ?? "").trim().toLowerCase()
  if (value === "json" || value === "logfmt" || value === "pretty") return value
  return stderrIsTty ? "pretty" : "json"
}

const loggerFor = (format: LogFormat): Logger.Logger<unknown, void> => {
  switch (format) {
    case "json":
      return Logger.withConsoleError(Logger.jsonLogger)
    case "logfmt":
      return Logger.withConsoleError(Logger.logfmtLogger)
    case "pretty":
      return Logger.prettyLogger({ stderr: true })
  }
}

/**
 * Every log line goes to stderr so that stdout carries only command output (plan JSON, validate results).
 * JSON unless stderr is a terminal; `LOG_FORMAT` and `LOG_LEVEL` override.
 */
export const loggingLayer = (env: Record<string, string | undefined>, stderrIsTty: boolean): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, loggerFor(parseLogFormat(env["LOG_FORMAT"], stderrIsTty))),
    Logger.minimumLogLevel(parseLogLevel(env["LOG_LEVEL"]))
  )
