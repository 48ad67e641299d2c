import { type ConfigDiagnostic, displayPath, type Problem } from "./Diagnostics.js"
import { parseYamlSource, positionAt, positionOf, type YamlSource } from "../Support/YamlSource.js"

export type SourceDocument = YamlSource

/** The config text parsed with positions; syntax errors as diagnostics of the document itself. */
export const parseYaml = (
  text: string,
  file: string
): { readonly source: SourceDocument; readonly syntaxErrors: ReadonlyArray<ConfigDiagnostic> } => {
  const { source, syntaxErrors } = parseYamlSource(text, file)
  return { source, syntaxErrors: syntaxErrors.map((e) => ({ file, line: e.line, column: e.column, path: "", message: e.message })) }
}

/** Places a problem in the source: `file:line:col` and the key path as people read it. */
export const locate = (source: SourceDocument, p: Problem): ConfigDiagnostic => {
  const { column, line } = p.offset !== undefined ? positionAt(source, p.offset) : positionOf(source, p.path, p.at)
  return { file: source.file, line, column, path: displayPath(p.path), message: p.message }
}
