import type { PathSegment, Problem } from "./Diagnostics.js"
import { configShape } from "./FileSchema.js"
import { unknownKey } from "./Issues.js"
import { mappingFor, type Shape } from "./Shape.js"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Reports every unknown key and removes it from the tree (built by Tree.ts, so ours to change), before the schema
 * decodes it: one map lookup per key, and the schema, whose per-issue cost is far higher, never sees a file of a
 * million typos. The keys each mapping accepts come from the schema (Shape.ts); a receiver accepts its own type's
 * keys, and without a known type the schema reports the type and nothing else. Values of the wrong kind are left to
 * the schema.
 */
export const stripUnknownKeys = (root: unknown, report: (problem: Problem) => void): void => {
  const walk = (node: unknown, shape: Shape, path: ReadonlyArray<PathSegment>): void => {
    if (Array.isArray(node)) {
      if (shape._tag === "List") node.forEach((item: unknown, i) => walk(item, shape.item, [...path, i]))
      return
    }
    if (!isRecord(node)) return
    const mapping = mappingFor(shape, node)
    if (mapping === null) return
    for (const key of Object.keys(node)) {
      const child = mapping.keys.get(key)
      if (child === undefined) {
        report(unknownKey(path, key, root))
        delete node[key]
        continue
      }
      walk(node[key], child, [...path, key])
    }
  }
  walk(root, configShape, [])
}
