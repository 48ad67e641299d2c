import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml"
import type { Document, Node } from "yaml"
import type { ConfigDiagnostic, ConfigPath, Problem } from "./Diagnostics.js"
import { formatPath } from "./Diagnostics.js"

export interface SourceDocument {
  readonly file: string
  readonly doc: Document.Parsed
  readonly lines: LineCounter
}

export const parseYaml = (
  text: string,
  file: string
): { readonly source: SourceDocument; readonly syntaxErrors: ReadonlyArray<ConfigDiagnostic> } => {
  const lines = new LineCounter()
  // prettyErrors adds source excerpts to messages; the text may hold secrets, so positions are computed here.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const syntaxErrors = doc.errors.map((error) => {
    const { col, line } = lines.linePos(error.pos[0])
    return { file, line, column: col, path: "", message: `YAML syntax error: ${error.message}` }
  })
  return { source: { file, doc, lines }, syntaxErrors }
}

const childOf = (node: unknown, segment: string | number): { readonly key: Node | null; readonly value: unknown } | null => {
  if (isMap(node)) {
    for (const pair of node.items) {
      const keyValue = isScalar(pair.key) ? pair.key.value : pair.key
      if (keyValue === segment || (typeof segment === "string" && String(keyValue) === segment)) {
        return { key: isNode(pair.key) ? pair.key : null, value: pair.value }
      }
    }
    return null
  }
  if (isSeq(node) && typeof segment === "number") {
    const item = node.items[segment]
    return item === undefined ? null : { key: null, value: item }
  }
  return null
}

const rangeStart = (node: unknown): number | null =>
  isNode(node) && node.range ? node.range[0] : isPair(node) && isNode(node.key) && node.key.range ? node.key.range[0] : null

/**
 * Places a problem in the source: the deepest node along its path that exists (a key that is missing points at
 * its parent mapping, an empty value at its key).
 */
export const locate = (source: SourceDocument, p: Problem): ConfigDiagnostic => {
  let offset: number | null = rangeStart(source.doc.contents)
  let node: unknown = source.doc.contents
  for (let i = 0; i < p.path.length; i++) {
    const segment = p.path[i]
    if (segment === undefined) break
    const child = childOf(node, segment)
    if (child === null) break
    const isLast = i === p.path.length - 1
    const keyStart = rangeStart(child.key)
    const valueStart = rangeStart(child.value)
    offset = isLast && p.at === "key" ? (keyStart ?? valueStart ?? offset) : (valueStart ?? keyStart ?? offset)
    node = child.value
  }
  const { col, line } = offset === null ? { line: 1, col: 1 } : source.lines.linePos(offset)
  return { file: source.file, line, column: col, path: formatPath(p.path), message: p.message }
}

/** Line (1-based) where the node at `path` starts, if it exists. */
export const lineOf = (source: SourceDocument, path: ConfigPath): number | null => {
  let node: unknown = source.doc.contents
  for (const segment of path) {
    const child = childOf(node, segment)
    if (child === null) return null
    node = child.value
  }
  const start = rangeStart(node)
  return start === null ? null : source.lines.linePos(start).line
}
