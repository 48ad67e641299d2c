import { Layer, Logger, LogLevel } from "effect"

/** A logger layer that keeps every line (logfmt), so tests can assert on what was (not) logged. */
export const captureLogs = () => {
  const lines: Array<string> = []
  const layer = Layer.merge(
    Logger.replace(Logger.defaultLogger, Logger.map(Logger.logfmtLogger, (line) => void lines.push(line))),
    Logger.minimumLogLevel(LogLevel.All)
  )
  return { lines, layer }
}
