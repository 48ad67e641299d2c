/**
 * Nesting depth of a JSON text, checked before decoding: parsing copes with any depth, but formatting a decode
 * error (which prints the offending value) recurses once per level, and a hostile body a million levels deep would
 * overflow the stack. Real API answers nest less than ten levels.
 */
export const maxJsonDepth = 64

const quote = 0x22
const backslash = 0x5c
const opening = new Set([0x5b, 0x7b])
const closing = new Set([0x5d, 0x7d])

/** Whether arrays and objects in `text` nest at most `max` levels (brackets inside strings do not count). */
export const nestsAtMost = (text: string, max: number = maxJsonDepth): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === backslash) i++
      else if (c === quote) inString = false
    } else if (c === quote) {
      inString = true
    } else if (opening.has(c)) {
      if (++depth > max) return false
    } else if (closing.has(c)) {
      depth--
    }
  }
  return true
}
