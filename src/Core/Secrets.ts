/**
 * The one way a known secret (API key, receiver URL or token, a password from the config) is cut out of text that
 * leaves the process: every occurrence, in any letter case (servers echo keys upper- or lower-cased), becomes
 * `<redacted>`.
 */

/** Shorter "secrets" are test doubles or empty; cutting them out would shred ordinary words. */
export const minMaskedLength = 6

export const redacted = "<redacted>"

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

export type Masker = (text: string) => string

export const secretMasker = (secrets: Iterable<string>): Masker => {
  // longest first, so that a secret containing another one is cut whole
  const masked = [...new Set(secrets)].filter((s) => s.length >= minMaskedLength).sort((a, b) => b.length - a.length)
  if (masked.length === 0) return (text) => text
  const pattern = new RegExp(masked.map(escapeRegExp).join("|"), "gi")
  return (text) => text.replace(pattern, redacted)
}
