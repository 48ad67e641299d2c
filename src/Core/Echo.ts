/**
 * How a value from the config file may be quoted back in a diagnostic. A diagnostic goes to logs, terminals, CI
 * output and the reload API, so a value is shown only when it cannot be a secret, and never at length.
 */

/** Longest stretch of a value quoted back; the rest is counted, not shown. */
export const maxEchoChars = 60

const authorityEnd = (text: string, from: number): number => {
  let end = from
  while (end < text.length && !/[/?#\s]/.test(text.charAt(end))) end++
  return end
}

// A hand-written scan rather than a regular expression: linear whatever the input (no backtracking).
const mapUserinfo = (text: string, onUserinfo: (authority: string, at: number) => string): string => {
  let out = ""
  let from = 0
  for (;;) {
    const scheme = text.indexOf("://", from)
    if (scheme < 0) return out + text.slice(from)
    const start = scheme + 3
    const end = authorityEnd(text, start)
    const authority = text.slice(start, end)
    const at = authority.lastIndexOf("@")
    out += text.slice(from, start) + (at < 0 ? authority : onUserinfo(authority, at))
    from = end
  }
}

/** True when a URL in the text carries `user[:password]@` before its host. */
export const hasUserinfo = (text: string): boolean => {
  let found = false
  mapUserinfo(text, (authority) => {
    found = true
    return authority
  })
  return found
}

/** The text with every URL's `user:password@` replaced by `<redacted>@`. */
export const maskUserinfo = (text: string): string =>
  mapUserinfo(text, (authority, at) => `<redacted>${authority.slice(at)}`)

const entropy = (text: string): number => {
  const counts = new Map<string, number>()
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  let bits = 0
  for (const n of counts.values()) bits -= (n / text.length) * Math.log2(n / text.length)
  return bits
}

// A run of letters and digits long enough to be a token, between separators such as _ - . / = + :
const chunks = /[A-Za-z0-9]{20,}/g

const randomLooking = (chunk: string): boolean => {
  const digits = chunk.replace(/[^0-9]/g, "").length
  const upper = chunk.replace(/[^A-Z]/g, "").length
  const lower = chunk.replace(/[^a-z]/g, "").length
  if (digits < 2 || upper + lower < 2) return false
  const hexOnly = /^[0-9a-f]+$/.test(chunk) || /^[0-9A-F]+$/.test(chunk)
  if (hexOnly) return chunk.length >= 24
  if (upper >= 2 && lower >= 2) return entropy(chunk) >= 3
  return digits / chunk.length >= 0.25 && entropy(chunk) >= 3.5
}

/**
 * Heuristic: the Phala key prefix anywhere (any case), or a long random-looking run of letters and digits
 * (base62/base64/hex tokens). Long app ids (40 hex digits) look random too and are not echoed either.
 */
export const looksLikeSecret = (text: string): boolean =>
  /phak_/i.test(text) || (text.length >= 20 && [...text.matchAll(chunks)].some(([chunk]) => randomLooking(chunk)))

const tokenRun = /[A-Za-z0-9_\-+/=.~]+/g

/**
 * A message from a library (yaml, node-cron) that may quote the file: secret-looking runs and URL credentials are
 * masked, and the whole is cut to a few lines' length.
 */
export const scrub = (message: string, maxChars = 240): string => {
  const masked = maskUserinfo(message.length > maxChars * 4 ? message.slice(0, maxChars * 4) : message)
    .replace(tokenRun, (run) => (looksLikeSecret(run) ? "<redacted>" : run))
  return masked.length <= maxChars ? masked : `${Array.from(masked.slice(0, maxChars)).join("")}…`
}

/**
 * How a value is named in a message; strings are quoted so that spaces and empty values show, cut short, and not
 * shown at all when they look like a secret.
 */
export const show = (u: unknown): string =>
  typeof u === "string"
    ? echo(u)
    : u === null || u === undefined
    ? "an empty value"
    : Array.isArray(u)
    ? "a list"
    : typeof u === "object"
    ? "a mapping"
    : String(u)

/** At most `maxEchoChars` characters (code points, so an emoji is never cut in half). */
export const truncate = (text: string): string =>
  text.length <= maxEchoChars ? text : Array.from(text.slice(0, maxEchoChars * 2)).slice(0, maxEchoChars).join("")

/**
 * A string value for a message: quoted, with URL credentials masked, cut to `maxEchoChars` characters, or not
 * shown at all when it looks like a secret.
 */
export const echo = (text: string): string => {
  if (looksLikeSecret(text)) return "a value that looks like a secret (not shown)"
  const masked = maskUserinfo(text)
  const shown = truncate(masked)
  return shown.length === masked.length ? JSON.stringify(shown) : `${JSON.stringify(`${shown}…`)} (${masked.length} characters)`
}
