import { isAlias, isMap, isScalar, isSeq, Scalar } from "yaml"
import type { ConfigPath, PathSegment, Problem } from "./Diagnostics.js"
import { formatPath, problem } from "./Diagnostics.js"
import { echo } from "../Core/Echo.js"
import type { Env } from "./Interpolate.js"
import { interpolate, isUnsetReason, resolveCoreScalar } from "./Interpolate.js"
import { maxNestingDepth } from "./Limits.js"

export interface Tree {
  /** Plain data: objects, arrays, strings, numbers, booleans, null (and Dates from `%YAML 1.1` timestamps). */
  readonly root: unknown
  /** Duplicate keys, alias bombs, excessive nesting reported: when there are any, nothing else is checked. */
  readonly structural: number
  /** Paths (`formatPath`) of the scalars whose `${VAR}` interpolation failed: they still hold the raw text. */
  readonly uninterpolated: ReadonlySet<string>
}

interface Built {
  readonly value: unknown
  /** Nodes in the value once aliases are expanded: what every later pass over the tree will visit. */
  readonly size: number
}

const startOf = (node: unknown): number | undefined =>
  isScalar(node) || isMap(node) || isSeq(node) || isAlias(node) ? node.range?.[0] : undefined

const define = (target: object, key: PropertyKey, value: unknown) =>
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })

/**
 * Turns the parsed document into plain data in one pass, instead of yaml's `toJS`, so that every step is linear
 * in the size of the file: `${VAR}` interpolation of scalar values, duplicate keys (a Set per mapping; yaml's own
 * check compares each key with all earlier ones), and aliases. An alias shares the anchored value (no copy), but
 * every later pass walks it again, so the nodes aliases add are counted and capped; an alias can only refer to an
 * anchor completed before it, so the result has no cycles. `isStringPosition` keeps ids and secrets that look like
 * numbers as strings.
 */
export const toTree = (
  contents: unknown,
  options: {
    readonly env: Env
    readonly isStringPosition: (path: ConfigPath) => boolean
    /** Nodes aliases may add (see `aliasNodeBudget`). */
    readonly aliasBudget: number
    readonly report: (problem: Problem) => void
    /**
     * Where unset `${VAR}`s go when they are not errors (`validate` without `--strict`). A string value keeps its
     * text as written, so the rest of the file is still checked; a typed one cannot be checked.
     */
    readonly noteUnset?: (problem: Problem) => void
  }
): Tree => {
  const { aliasBudget, env, isStringPosition, noteUnset, report } = options
  let structural = 0
  const uninterpolated = new Set<string>()
  const path: Array<PathSegment> = []
  const anchors = new Map<string, Built>()
  let aliasNodes = 0
  let stopped = false

  const reportStructural = (message: string, offset: number | undefined) => {
    structural++
    report({ ...problem([...path], message), ...(offset === undefined ? {} : { offset }) })
  }
  // past an alias bomb or excessive nesting, building more would cost what the limit is there to prevent
  const stop = (message: string, offset: number | undefined) => {
    reportStructural(message, offset)
    stopped = true
  }

  const scalar = (node: Scalar): unknown => {
    const stringPosition = isStringPosition(path)
    if (typeof node.value === "string") {
      const result = interpolate(node.value, env)
      if (result._tag === "Failed") {
        if (noteUnset !== undefined && result.reasons.every(isUnsetReason)) {
          for (const reason of result.reasons) noteUnset(problem([...path], reason))
          if (stringPosition) return node.value
        } else {
          for (const reason of result.reasons) report(problem([...path], reason))
        }
        uninterpolated.add(formatPath(path))
        return node.value
      }
      return result.substituted && node.type === Scalar.PLAIN && !stringPosition ? resolveCoreScalar(result.value) : result.value
    }
    if (stringPosition && node.type === Scalar.PLAIN && node.source !== undefined && node.value !== null) return node.source
    return node.value
  }

  const build = (node: unknown, depth: number): Built => {
    if (stopped) return { value: null, size: 0 }
    if (isAlias(node)) {
      const target = anchors.get(node.source)
      if (target === undefined) {
        stop(`alias *${node.source} refers to no earlier anchor &${node.source}`, startOf(node))
        return { value: null, size: 0 }
      }
      aliasNodes += target.size
      if (aliasNodes > aliasBudget) {
        stop(
          `YAML aliases expand the file by more than ${aliasBudget.toLocaleString("en-US")} nodes (an alias bomb?); write the values out or use fewer aliases`,
          startOf(node)
        )
      }
      return target
    }
    if (depth > maxNestingDepth) {
      stop(`nested more than ${maxNestingDepth} levels deep`, startOf(node))
      return { value: null, size: 0 }
    }
    let built: Built
    if (isMap(node)) {
      const out: Record<string, unknown> = {}
      let size = 1
      for (const pair of node.items) {
        if (stopped) break
        const key = pair.key
        if (!isScalar(key)) {
          reportStructural("a mapping key must be plain text (not a list, a mapping or an alias)", startOf(key) ?? startOf(node))
          continue
        }
        const name = key.value === null ? "" : String(key.value)
        if (Object.prototype.hasOwnProperty.call(out, name)) {
          path.push(name)
          reportStructural(`duplicate key ${echo(name)}`, startOf(key))
          path.pop()
          continue
        }
        path.push(name)
        const child = build(pair.value, depth + 1)
        path.pop()
        define(out, name, child.value)
        size += 1 + child.size
      }
      built = { value: out, size }
    } else if (isSeq(node)) {
      const out: Array<unknown> = []
      let size = 1
      for (let i = 0; i < node.items.length && !stopped; i++) {
        path.push(i)
        const child = build(node.items[i], depth + 1)
        path.pop()
        out.push(child.value)
        size += child.size
      }
      built = { value: out, size }
    } else if (isScalar(node)) {
      built = { value: scalar(node), size: 1 }
    } else {
      built = { value: null, size: 1 }
    }
    const anchor = isScalar(node) || isMap(node) || isSeq(node) ? node.anchor : undefined
    if (anchor !== undefined) anchors.set(anchor, built)
    return built
  }

  const { value } = build(contents, 0)
  return { root: value, structural, uninterpolated }
}
