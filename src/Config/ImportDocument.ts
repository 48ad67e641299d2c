/**
 * The desired-state YAML that `import` writes: a new file, or new apps appended to an existing one through the yaml
 * Document API (positions, rendering, and a re-read that checks the result), so that what is already there (entries,
 * comments, order, quoting, alignment) stays as written.
 */
import { Either } from "effect"
import { isDeepStrictEqual } from "node:util"
import { Document, isNode, isSeq, parseDocument, Scalar, type YAMLSeq } from "yaml"
import { normaliseAppId } from "../Core/Domain/AppId.js"
import type { ImportedApp } from "../Core/Import/ImportedApp.js"
import { displayPath } from "./Diagnostics.js"
import { configShape } from "./FileSchema.js"
import { secretPaths } from "./Shape.js"

/** What the `api:` block of a new file says. The key is never written: always `${PHALA_CLOUD_API_KEY}`. */
export interface ImportedApi {
  /** Written only when it is not the default URL. */
  readonly url: string | null
  readonly apiVersion: string
}

export const apiKeyReference = "${PHALA_CLOUD_API_KEY}"

const header = [
  " Written by `phala-drift import` from what runs now: review it, then `phala-drift validate` and",
  " `phala-drift plan` (exit 0 on a steady fleet) before committing it. Each app is pinned to its current replica",
  " count and status, and to the CVM attributes on which all its CVMs agree."
].join("\n")

const quoted = (value: string): Scalar<string> => {
  const scalar = new Scalar(value)
  scalar.type = Scalar.QUOTE_DOUBLE
  return scalar
}

/** An `apps:` entry as plain data, keys in the order people read them. */
export const entryOf = (app: ImportedApp): Record<string, unknown> => ({
  app_id: app.appId,
  ...(app.name === null ? {} : { name: app.name }),
  replicas: app.replicas,
  status: app.status,
  ...(Object.keys(app.cvm).length === 0 ? {} : { cvm: { ...app.cvm } })
})

// the stringifier quotes what would read back as another type (an all-digit app_id, a hash of digits)
const render = (doc: Document): string => doc.toString({ lineWidth: 0 })

const appendTo = (doc: Document, seq: YAMLSeq, apps: ReadonlyArray<ImportedApp>): void => {
  // a flow list (`apps: []`) would take the new entries inline, on one line
  if (apps.length > 0) seq.flow = false
  apps.forEach((app, i) => {
    const node = doc.createNode(entryOf(app))
    node.spaceBefore = seq.items.length > 0 || i > 0
    seq.add(node)
  })
}

/** A complete desired-state file for `apps`. */
export const newDocument = (api: ImportedApi, apps: ReadonlyArray<ImportedApp>): string => {
  const doc = new Document({})
  doc.commentBefore = header
  doc.set("version", 1)
  doc.set("api", doc.createNode({ ...(api.url === null ? {} : { url: api.url }), api_key: apiKeyReference }))
  doc.setIn(["api", "api_version"], quoted(api.apiVersion))
  const seq = doc.createNode([])
  doc.set("apps", seq)
  appendTo(doc, seq, apps)
  return render(doc)
}

export interface Merged {
  readonly text: string
  /** The apps appended, in order. */
  readonly added: ReadonlyArray<ImportedApp>
  /** Apps of `apps` that the file already declares (left as written). */
  readonly alreadyDeclared: number
}

/**
 * `text` (a valid config) with the apps it does not declare yet appended to its `apps:` list. Declared apps are not
 * touched; with nothing to add, the text comes back byte for byte.
 */
export const mergeDocument = (text: string, apps: ReadonlyArray<ImportedApp>): Either.Either<Merged, string> => {
  const doc = parseDocument(text, { prettyErrors: false })
  if (doc.errors.length > 0) return Either.left("the file is not valid YAML")
  const seq = doc.get("apps", true)
  if (!isSeq(seq)) return Either.left("apps: is not a list written in this file (an alias or another type); nothing appended")
  const declared = new Set<string>()
  // the loader has checked this file, aliases included (Limits.ts), before it gets here
  const items: unknown = seq.toJS(doc, { maxAliasCount: -1 })
  for (const item of Array.isArray(items) ? items : []) {
    const id = typeof item === "object" && item !== null ? normaliseAppId(Reflect.get(item, "app_id")) : undefined
    if (id !== undefined && Either.isRight(id)) declared.add(id.right)
  }
  const added = apps.filter((app) => !declared.has(app.appId))
  const alreadyDeclared = apps.length - added.length
  if (added.length === 0) return Either.right({ text, added, alreadyDeclared })
  const expected = { ...asRecord(doc.toJS({ maxAliasCount: -1 })), apps: [...(Array.isArray(items) ? items : []), ...added.map(entryOf)] }
  const inserted = insertAfterLastItem(text, seq, added)
  if (inserted !== null && sameData(inserted, expected)) return Either.right({ text: inserted, added, alreadyDeclared })
  appendTo(doc, seq, added)
  const rendered = render(doc)
  return sameData(rendered, expected)
    ? Either.right({ text: rendered, added, alreadyDeclared })
    : Either.left("appending to apps: would change what the file says; nothing appended")
}

const asRecord = (u: unknown): Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) ? { ...u } : {}

/** The text reads back as exactly `expected`: the declared data unchanged, the new entries after it. */
const sameData = (text: string, expected: unknown): boolean => {
  const doc = parseDocument(text, { prettyErrors: false })
  return doc.errors.length === 0 && isDeepStrictEqual(doc.toJS({ maxAliasCount: -1 }), expected)
}

/**
 * The new entries rendered by the Document API and placed where the parsed list's last item ends, at the list's
 * indentation: every byte of the file stays as written (a re-render of the whole document would realign end-of-line
 * comments and respace flow collections). Null for a flow list (`apps: [...]`), which is re-rendered instead.
 */
const insertAfterLastItem = (text: string, seq: YAMLSeq, apps: ReadonlyArray<ImportedApp>): string | null => {
  const last = seq.items[seq.items.length - 1]
  if (seq.flow === true || seq.range == null || last === undefined || !isNode(last) || last.range == null) return null
  const start = seq.range[0]
  const indent = start - (text.lastIndexOf("\n", start - 1) + 1)
  if (text.slice(start - indent, start).trim() !== "" || text[start] !== "-") return null
  const fragment = new Document(apps.map(entryOf))
  if (isSeq(fragment.contents)) for (const item of fragment.contents.items) if (isNode(item)) item.spaceBefore = true
  const pad = " ".repeat(indent)
  const lines = render(fragment).split("\n").map((line) => (line === "" ? line : `${pad}${line}`)).join("\n")
  const at = last.range[1]
  const before = text.slice(0, at)
  return `${before}${before.endsWith("\n") ? "" : "\n"}${lines}${text.slice(at)}`
}

/**
 * Paths of secrets written into the file as values rather than `${VAR}` references or `*_file` keys: `import`
 * refuses to copy such a file into output that is readable by all (0644) or printed.
 */
export const literalSecrets = (text: string): ReadonlyArray<string> => {
  const doc = parseDocument(text, { prettyErrors: false })
  // checked by the loader first, aliases included
  const root: unknown = doc.toJS({ maxAliasCount: -1 })
  return secretPaths(configShape, root)
    .filter((path) => {
      const value: unknown = path.reduce<unknown>((node, key) => (typeof node === "object" && node !== null ? Reflect.get(node, key) : undefined), root)
      return typeof value === "string" && value.trim() !== "" && !value.includes("${")
    })
    .map(displayPath)
}
