import { ParseResult } from "effect"
import type { ConfigPath, Problem } from "./Diagnostics.js"
import { problem } from "./Diagnostics.js"
import { echo } from "../Core/Echo.js"
import { configShape } from "./FileSchema.js"
import { mappingFor, shapeAt } from "./Shape.js"

export const editDistance = (a: string, b: string): number => {
  // two rows reused: called once per unknown key and candidate, so allocation would dominate
  let previous = new Uint32Array(b.length + 1).map((_, j) => j)
  let current = new Uint32Array(b.length + 1)
  for (let i = 1; i <= a.length; i++) {
    current[0] = i
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    ;[previous, current] = [current, previous]
  }
  return previous[b.length] ?? 0
}

export const suggest = (word: string, candidates: ReadonlyArray<string>): string | null => {
  let best: { readonly key: string; readonly distance: number } | null = null
  const lower = word.toLowerCase()
  for (const key of candidates) {
    // lengths 3 apart cannot be within distance 2; skipping them keeps a megabyte-long key cheap
    if (Math.abs(word.length - key.length) > 2) continue
    const distance = editDistance(lower, key)
    if (distance <= 2 && (best === null || distance < best.distance)) best = { key, distance }
  }
  return best?.key ?? null
}

const valueAt = (root: unknown, path: ConfigPath): unknown =>
  path.reduce<unknown>((node, segment) => typeof node === "object" && node !== null ? Reflect.get(node, segment) : undefined, root)

/** The keys the mapping at `path` accepts (a receiver only its own type's), for "did you mean". */
export const candidates = (path: ConfigPath, root: unknown): { readonly keys: ReadonlyArray<string>; readonly what: string } => {
  const shape = shapeAt(configShape, path)
  if (shape?._tag === "Mapping") return { keys: [...shape.keys.keys()], what: "" }
  if (shape?._tag !== "Variants") return { keys: [], what: "" }
  const node = valueAt(root, path)
  const chosen = mappingFor(shape, node)
  return chosen === null
    ? { keys: [...shape.any.keys.keys()], what: "" }
    : { keys: [...chosen.keys.keys()], what: ` for a ${shape.noun} of ${shape.key} ${String(valueAt(node, [shape.key]))}` }
}

export const unknownKey = (path: ConfigPath, key: string, root: unknown): Problem => {
  const { keys, what } = candidates(path, root)
  const suggestion = suggest(key, keys)
  return problem(
    [...path, key],
    `unknown key ${echo(key)}${what}${suggestion === null ? "" : `, did you mean "${suggestion}"?`}`,
    "key"
  )
}

// Schema's own messages end in ", actual <value>": drop the value, it may be a secret.
const withoutActual = (message: string): string => message.replace(/, actual [\s\S]*$/, "").replace(/^Expected /, "expected ")

// Sections accept an empty value (`key:` alone) as absent; a wrong value there also fails that null branch.
const nullableNoise = (issue: ParseResult.ArrayFormatterIssue): boolean =>
  issue._tag === "Type" && issue.message.startsWith("Expected null, actual")

/**
 * One problem per leaf issue of a failed decode, with key paths relative to `base`. `root` is the tree those
 * full paths point into, used to pick the candidate keys for "did you mean".
 */
export const problemsOf = (error: ParseResult.ParseError, base: ConfigPath = [], root?: unknown): ReadonlyArray<Problem> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).filter((issue) => !nullableNoise(issue)).map((issue) => {
    const path = [...base, ...issue.path.filter((s) => typeof s === "string" || typeof s === "number")]
    const last = path[path.length - 1]
    const parent = path.slice(0, -1)
    switch (issue._tag) {
      case "Unexpected":
        return unknownKey(parent, String(last), root)
      case "Missing":
        return problem(parent, `missing required key "${String(last)}"`)
      default:
        return problem(path, withoutActual(issue.message))
    }
  })
