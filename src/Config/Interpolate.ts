import { isMap, isScalar, isSeq, Scalar } from "yaml"
import type { ConfigPath, Problem } from "./Diagnostics.js"
import { problem } from "./Diagnostics.js"

export type Env = Readonly<Record<string, string | undefined>>

export type Interpolation =
  | { readonly _tag: "Done"; readonly value: string; readonly substituted: boolean }
  | { readonly _tag: "Failed"; readonly reasons: ReadonlyArray<string> }

const referenceSyntax = "use ${VAR}, ${VAR:-default}, or $$ for a literal $"
const reference = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/

/**
 * Expands `${VAR}` and `${VAR:-default}` (default when unset or empty; it may itself hold references) and `$$`.
 * Reasons name variables only, never values.
 */
export const interpolate = (text: string, env: Env): Interpolation => {
  const reasons: Array<string> = []
  let out = ""
  let substituted = false
  let i = 0
  while (i < text.length) {
    const ch = text[i]
    if (ch !== "$") {
      out += ch
      i++
      continue
    }
    const next = text[i + 1]
    if (next === "$") {
      out += "$"
      i += 2
      continue
    }
    if (next !== "{") {
      out += "$"
      i++
      continue
    }
    let depth = 1
    let end = i + 2
    while (end < text.length && depth > 0) {
      if (text[end] === "{") depth++
      else if (text[end] === "}") depth--
      if (depth > 0) end++
    }
    if (depth > 0) {
      reasons.push(`unterminated \${ (${referenceSyntax})`)
      break
    }
    const match = reference.exec(text.slice(i + 2, end))
    const name = match?.[1]
    if (match === null || name === undefined) {
      reasons.push(`malformed \${...} reference (${referenceSyntax})`)
    } else {
      substituted = true
      const value = env[name]
      const fallback = match[2]
      if (fallback !== undefined && (value === undefined || value === "")) {
        const inner = interpolate(fallback, env)
        if (inner._tag === "Failed") reasons.push(...inner.reasons)
        else out += inner.value
      } else if (value === undefined) {
        reasons.push(`environment variable ${name} is not set`)
      } else {
        out += value
      }
    }
    i = end + 1
  }
  return reasons.length > 0 ? { _tag: "Failed", reasons } : { _tag: "Done", value: out, substituted }
}

/** How YAML 1.2 (core schema) reads an unquoted scalar. */
export const resolveCoreScalar = (text: string): string | number | boolean | null => {
  if (/^(~|null|Null|NULL)?$/.test(text)) return null
  if (/^(true|True|TRUE)$/.test(text)) return true
  if (/^(false|False|FALSE)$/.test(text)) return false
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text)
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8)
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16)
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text)
  if (/^[-+]?\.(inf|Inf|INF)$/.test(text)) return text.startsWith("-") ? -Infinity : Infinity
  if (/^\.(nan|NaN|NAN)$/.test(text)) return NaN
  return text
}

/**
 * Interpolates every string scalar value of the tree in place, and returns the problems. Values at
 * `isStringPosition` paths stay strings: an id or secret that looks like a number must not be re-read as one.
 */
export const interpolateTree = (
  root: unknown,
  env: Env,
  isStringPosition: (path: ConfigPath) => boolean
): ReadonlyArray<Problem> => {
  const problems: Array<Problem> = []
  const visit = (node: unknown, path: ConfigPath): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : undefined
        if (typeof key === "string" || typeof key === "number") visit(pair.value, [...path, String(key)])
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => visit(item, [...path, index]))
    } else if (isScalar(node)) {
      const stringPosition = isStringPosition(path)
      if (typeof node.value === "string") {
        const result = interpolate(node.value, env)
        if (result._tag === "Failed") {
          for (const reason of result.reasons) problems.push(problem(path, reason))
        } else if (result.substituted && node.type === Scalar.PLAIN && !stringPosition) {
          node.value = resolveCoreScalar(result.value)
        } else {
          node.value = result.value
        }
      } else if (stringPosition && node.type === Scalar.PLAIN && node.source !== undefined && node.value !== null) {
        node.value = node.source
      }
    }
  }
  visit(root, [])
  return problems
}
