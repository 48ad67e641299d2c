/** Shell-like words: whitespace-separated, single and double quotes grouping, backslash escapes outside single quotes. */
export const words = (text: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  let word: string | null = null
  let quote: "'" | "\"" | null = null
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? ""
    if (quote === "'") {
      if (c === "'") quote = null
      else word = (word ?? "") + c
    } else if (c === "\\" && i + 1 < text.length) {
      word = (word ?? "") + (text[++i] ?? "")
    } else if (c === "'" || c === "\"") {
      if (quote === c) quote = null
      else if (quote === null) quote = c
      else word = (word ?? "") + c
      word = word ?? ""
    } else if (quote === null && /\s/.test(c)) {
      if (word !== null) out.push(word)
      word = null
    } else {
      word = (word ?? "") + c
    }
  }
  if (quote !== null) throw new Error(`unterminated quote in: ${text}`)
  if (word !== null) out.push(word)
  return out
}
