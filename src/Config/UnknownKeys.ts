import type { PathSegment, Problem } from "./Diagnostics.js"
import { keysByShape, listShapes, receiverKeys, receiverTypes } from "./FileSchema.js"
import { unknownKey } from "./Issues.js"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const keySets: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries(keysByShape).map(([shape, keys]) => [shape, new Set(keys)])
)
const receiverKeySets: ReadonlyMap<unknown, ReadonlySet<string>> = new Map(
  receiverTypes.map((type) => [type, new Set(receiverKeys[type])])
)

// A receiver accepts its own type's keys; without a known type, the schema reports the type and nothing else.
const keysFor = (shape: string, node: Record<string, unknown>): ReadonlySet<string> | undefined =>
  shape === "alerting.receivers" ? receiverKeySets.get(node["type"]) : keySets.get(shape)

/**
 * Reports every unknown key and removes it from the tree (built by Tree.ts, so ours to change), before the schema
 * decodes it: one set lookup per key, and the schema, whose per-issue cost is far higher, never sees a file of a
 * million typos. Values of the wrong kind are left to the schema.
 */
export const stripUnknownKeys = (root: unknown, report: (problem: Problem) => void): void => {
  const walk = (node: unknown, shape: string, path: ReadonlyArray<PathSegment>): void => {
    if (Array.isArray(node)) {
      if (listShapes.has(shape)) node.forEach((item: unknown, i) => walk(item, shape, [...path, i]))
      return
    }
    if (!isRecord(node)) return
    const keys = keysFor(shape, node)
    if (keys === undefined) return
    for (const key of Object.keys(node)) {
      if (!keys.has(key)) {
        report(unknownKey(path, key, root))
        delete node[key]
        continue
      }
      const child = shape === "" ? key : `${shape}.${key}`
      if (keySets.has(child)) walk(node[key], child, [...path, key])
    }
  }
  walk(root, "", [])
}
