/** Markup that is already safe to emit. Only `html` and `trusted` make one, so plain strings are always escaped. */
export interface Html {
  readonly _tag: "Html"
  readonly markup: string
}

export type HtmlChild = Html | string | number | null | undefined | false | ReadonlyArray<HtmlChild>

const entities: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "\"": "&quot;",
  "'": "&#39;"
}

/** Safe in text and in quoted attribute values (single or double quotes). */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => entities[c] ?? c)

const isHtml = (child: HtmlChild): child is Html => typeof child === "object" && child !== null && !Array.isArray(child)

const flatten = (child: HtmlChild): string => {
  if (child === null || child === undefined || child === false) return ""
  if (typeof child === "string") return escapeHtml(child)
  if (typeof child === "number") return escapeHtml(String(child))
  if (isHtml(child)) return child.markup
  return child.map(flatten).join("")
}

/** For constants written in this codebase (the stylesheet), never for data. */
export const trusted = (markup: string): Html => ({ _tag: "Html", markup })

/** Template tag: interpolated strings and numbers are escaped, `Html` values are kept, arrays are joined, nullish/false are dropped. */
export const html = (strings: TemplateStringsArray, ...values: ReadonlyArray<HtmlChild>): Html => {
  let markup = strings[0] ?? ""
  values.forEach((value, i) => {
    markup += flatten(value) + (strings[i + 1] ?? "")
  })
  return trusted(markup)
}

export const join = (children: ReadonlyArray<HtmlChild>, separator: HtmlChild = ""): Html =>
  trusted(children.map(flatten).join(flatten(separator)))
