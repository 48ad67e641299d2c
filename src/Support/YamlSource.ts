import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit } from "yaml"
import type { Document, Node, YAMLMap } from "yaml"
import { scrub } from "../Core/Echo.js"

/**
 * A YAML text parsed with positions, so that a problem found in the data (a path of keys and indices) can be named
 * by file, line and column: the desired-state file and the simulator's scenarios share it.
 */
export interface YamlSource {
  readonly file: string
  readonly doc: Document.Parsed
  readonly lines: LineCounter
  /** Keys of the mappings problems were found in, so that placing N problems costs O(N), not O(N × keys). */
  readonly index: WeakMap<YAMLMap, ReadonlyMap<string, Child>>
}

/** 1-based. */
export interface YamlPosition {
  readonly line: number
  readonly column: number
}

export interface YamlSyntaxError extends YamlPosition {
  /** `YAML syntax error: …`; never an excerpt of the text (it may hold secrets). */
  readonly message: string
}

export type YamlPath = ReadonlyArray<PropertyKey>

// Messages of yaml errors that end a construct opened earlier: pointed at the opener, not where it was noticed.
const unclosed: ReadonlyArray<{ readonly test: RegExp; readonly what: string; readonly matches: (node: unknown) => boolean }> = [
  { test: /^Flow sequence\b/, what: "[ is never closed", matches: (n) => isSeq(n) && n.flow === true },
  { test: /^Flow map\b/, what: "{ is never closed", matches: (n) => isMap(n) && n.flow === true },
  { test: /^Missing closing "quote/, what: "\" is never closed", matches: (n) => isScalar(n) && n.type === Scalar.QUOTE_DOUBLE },
  { test: /^Missing closing 'quote/, what: "' is never closed", matches: (n) => isScalar(n) && n.type === Scalar.QUOTE_SINGLE }
]

/** Flow collections and quoted scalars by the offset where they end, for errors that report that end. */
const openersByEnd = (doc: Document.Parsed): Map<number, Array<Node>> => {
  const byEnd = new Map<number, Array<Node>>()
  visit(doc, {
    Node: (_key, node) => {
      const flowish = ((isSeq(node) || isMap(node)) && node.flow === true) ||
        (isScalar(node) && (node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE))
      if (!flowish || node.range == null) return
      for (const end of new Set([node.range[1], node.range[2]])) {
        const list = byEnd.get(end)
        if (list === undefined) byEnd.set(end, [node])
        else list.push(node)
      }
    }
  })
  return byEnd
}

const syntaxErrorsOf = (doc: Document.Parsed, lines: LineCounter): ReadonlyArray<YamlSyntaxError> => {
  const at = (offset: number) => lines.linePos(offset)
  const needsOpeners = doc.errors.some((error) => unclosed.some((u) => u.test.test(error.message)))
  const byEnd = needsOpeners ? openersByEnd(doc) : new Map<number, Array<Node>>()
  const used = new Set<Node>()
  return doc.errors.map((error) => {
    const found = at(error.pos[0])
    const kind = unclosed.find((u) => u.test.test(error.message))
    // the innermost unclosed construct of that kind ending where the error was noticed
    const opener = kind === undefined ? undefined : (byEnd.get(error.pos[0]) ?? [])
      .filter((node) => kind.matches(node) && !used.has(node))
      .sort((a, b) => (b.range?.[0] ?? 0) - (a.range?.[0] ?? 0))[0]
    if (kind === undefined || opener?.range == null) {
      return { line: found.line, column: found.col, message: `YAML syntax error: ${scrub(error.message)}` }
    }
    used.add(opener)
    const open = at(opener.range[0])
    return {
      line: open.line,
      column: open.col,
      message: `YAML syntax error: this ${kind.what} (${scrub(error.message)}; noticed at line ${found.line}, column ${found.col})`
    }
  })
}

export const parseYamlSource = (
  text: string,
  file: string,
  options: {
    /** Duplicate keys are syntax errors; the config checks them itself, in linear time (yaml's check is quadratic). */
    readonly uniqueKeys?: boolean
  } = {}
): { readonly source: YamlSource; readonly syntaxErrors: ReadonlyArray<YamlSyntaxError> } => {
  const lines = new LineCounter()
  // prettyErrors adds source excerpts to messages; the text may hold secrets, so positions are computed here
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: options.uniqueKeys === true })
  return { source: { file, doc, lines, index: new WeakMap() }, syntaxErrors: syntaxErrorsOf(doc, lines) }
}

type Child = { readonly key: Node | null; readonly value: unknown }

/** The pairs of a mapping by key, built the first time a problem points into that mapping. */
const indexOf = (source: YamlSource, map: YAMLMap): ReadonlyMap<string, Child> => {
  const known = source.index.get(map)
  if (known !== undefined) return known
  const built = new Map<string, Child>()
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value ?? "") : null
    // the first of duplicate keys is the one the data uses
    if (key !== null && !built.has(key)) built.set(key, { key: isNode(pair.key) ? pair.key : null, value: pair.value })
  }
  source.index.set(map, built)
  return built
}

const childOf = (source: YamlSource, node: unknown, segment: PropertyKey): Child | null => {
  if (isMap(node)) return indexOf(source, node).get(String(segment)) ?? null
  if (isSeq(node) && typeof segment === "number") {
    const item = node.items[segment]
    return item === undefined ? null : { key: null, value: item }
  }
  return null
}

const rangeStart = (node: unknown): number | null =>
  isNode(node) && node.range ? node.range[0] : isPair(node) && isNode(node.key) && node.key.range ? node.key.range[0] : null

export const positionAt = (source: YamlSource, offset: number): YamlPosition => {
  const { col, line } = source.lines.linePos(offset)
  return { line, column: col }
}

/**
 * Where the node at `path` is: the deepest node along it that exists (a key that is missing points at its parent
 * mapping, an empty value at its key); `key` points at the mapping key of the last segment instead of its value.
 */
export const positionOf = (source: YamlSource, path: YamlPath, at: "key" | "value" = "value"): YamlPosition => {
  let offset: number | null = rangeStart(source.doc.contents)
  let node: unknown = source.doc.contents
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]
    if (segment === undefined) break
    const child = childOf(source, node, segment)
    if (child === null) break
    const isLast = i === path.length - 1
    const keyStart = rangeStart(child.key)
    const valueStart = rangeStart(child.value)
    offset = isLast && at === "key" ? (keyStart ?? valueStart ?? offset) : (valueStart ?? keyStart ?? offset)
    node = child.value
  }
  return offset === null ? { line: 1, column: 1 } : positionAt(source, offset)
}

/** Line (1-based) where the node at `path` starts, if it exists. */
export const lineOf = (source: YamlSource, path: YamlPath): number | null => {
  let node: unknown = source.doc.contents
  for (const segment of path) {
    const child = childOf(source, node, segment)
    if (child === null) return null
    node = child.value
  }
  const start = rangeStart(node)
  return start === null ? null : source.lines.linePos(start).line
}
