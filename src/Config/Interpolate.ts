import { truncate } from "../Core/Echo.js"

export type Env = Readonly<Record<string, string | undefined>>

export type Interpolation =
  | { readonly _tag: "Done"; readonly value: string; readonly substituted: boolean }
  | { readonly _tag: "Failed"; readonly reasons: ReadonlyArray<string> }

const referenceSyntax = "use ${VAR}, ${VAR:-default}, or $$ for a literal $"
const reference = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/

const unsetSuffix = " is not set"
const unsetReason = (name: string): string => `environment variable ${truncate(name)}${unsetSuffix}`

/** The reason `interpolate` gives for a variable that is not set (which `validate` reports as a note). */
export const isUnsetReason = (reason: string): boolean => reason.startsWith("environment variable ") && reason.endsWith(unsetSuffix)

/** Defaults inside defaults (`${A:-${B:-x}}`) nest at most this deep: each level re-reads the text it holds. */
export const maxDefaultNesting = 8

/**
 * Expands `${VAR}` and `${VAR:-default}` (default when unset or empty; it may itself hold references) and `$$`.
 * Reasons name variables only, never values.
 */
export const interpolate = (text: string, env: Env, nesting = 0): Interpolation => {
  // a set, and a few at most: a value holding a million `${X}` is one mistake, not a million
  const reasons = new Set<string>()
  let out = ""
  let substituted = false
  let i = 0
  while (i < text.length && reasons.size < 5) {
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
      reasons.add(`unterminated \${ (${referenceSyntax})`)
      break
    }
    const match = reference.exec(text.slice(i + 2, end))
    const name = match?.[1]
    if (match === null || name === undefined) {
      reasons.add(`malformed \${...} reference (${referenceSyntax})`)
    } else {
      substituted = true
      const value = env[name]
      const fallback = match[2]
      if (fallback !== undefined && (value === undefined || value === "") && nesting >= maxDefaultNesting) {
        reasons.add(`\${...:-default} nested more than ${maxDefaultNesting} levels deep`)
      } else if (fallback !== undefined && (value === undefined || value === "")) {
        const inner = interpolate(fallback, env, nesting + 1)
        if (inner._tag === "Failed") inner.reasons.forEach((reason) => reasons.add(reason))
        else out += inner.value
      } else if (value === undefined) {
        reasons.add(unsetReason(name))
      } else {
        out += value
      }
    }
    i = end + 1
  }
  return reasons.size > 0 ? { _tag: "Failed", reasons: [...reasons] } : { _tag: "Done", value: out, substituted }
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
