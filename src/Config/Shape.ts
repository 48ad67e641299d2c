import { Schema, SchemaAST as AST } from "effect"
import type { ConfigPath } from "./Diagnostics.js"

/**
 * What the file schema says about each key, read from annotations on the schema itself, so that a key is declared
 * once (in FileSchema.ts) and every list that used to be kept by hand follows: the keys a mapping accepts (unknown
 * keys, "did you mean"), the values kept as written (`app_id: 0123…` is not a number), and the secrets (never
 * echoed).
 */
export const ConfigAnnotation = {
  /** On a leaf: kept as the text written, even when YAML would read it as a number, boolean or date. */
  staysString: Symbol.for("phala-drift/config/staysString"),
  /** On a leaf: a secret; the loader masks its value in every diagnostic. */
  secret: Symbol.for("phala-drift/config/secret"),
  /** On a mapping: its fields, the keys it accepts. */
  fields: Symbol.for("phala-drift/config/fields"),
  /** On a list item chosen by a key (receivers by `type`): `{ key, variants: { value: fields } }`. */
  variants: Symbol.for("phala-drift/config/variants")
} as const

export type Fields = Readonly<Record<string, Schema.Struct.Field>>

export interface Variants {
  /** What one of them is called in messages: `receiver`. */
  readonly noun: string
  readonly key: string
  readonly variants: Readonly<Record<string, Fields>>
}

export interface Mapping {
  readonly _tag: "Mapping"
  readonly keys: ReadonlyMap<string, Shape>
}

export type Shape =
  | { readonly _tag: "Leaf"; readonly staysString: boolean; readonly secret: boolean }
  | Mapping
  /** One of several mappings, chosen by the value of `key`; `any` accepts the keys of all of them. */
  | {
    readonly _tag: "Variants"
    readonly noun: string
    readonly key: string
    readonly variants: ReadonlyMap<string, Mapping>
    readonly any: Mapping
  }
  | { readonly _tag: "List"; readonly item: Shape }
  /** A mapping of names the user chooses (labels, route matchers) to values of one shape. */
  | { readonly _tag: "Record"; readonly value: Shape }

const plainLeaf: Shape = { _tag: "Leaf", staysString: false, secret: false }

const isFields = (u: unknown): u is Fields => typeof u === "object" && u !== null
const isVariants = (u: unknown): u is Variants => isFields(u) && "noun" in u && "key" in u && "variants" in u

const fieldAst = (field: Schema.Struct.Field): AST.AST => {
  if (!Schema.isPropertySignature(field)) return field.ast
  const ast = field.ast
  // an optional key is a declaration around the value's schema; a nullable section a transformation from it
  return ast._tag === "PropertySignatureDeclaration" ? ast.type : ast.from.type
}

const mappingOf = (fields: Fields): Mapping => ({
  _tag: "Mapping",
  keys: new Map(Object.entries(fields).map(([key, field]) => [key, shapeOfAst(fieldAst(field))]))
})

const isNullLiteral = (ast: AST.AST): boolean => AST.isLiteral(ast) && ast.literal === null

const shapeOfAst = (ast: AST.AST): Shape => {
  const annotations = ast.annotations
  const fields = annotations[ConfigAnnotation.fields]
  if (isFields(fields)) return mappingOf(fields)
  const variants = annotations[ConfigAnnotation.variants]
  if (isVariants(variants)) {
    const all = Object.entries(variants.variants).map(([name, f]) => [name, mappingOf(f)] as const)
    const anyKeys = new Map<string, Shape>()
    for (const [, mapping] of all) for (const [key, shape] of mapping.keys) if (!anyKeys.has(key)) anyKeys.set(key, shape)
    return { _tag: "Variants", noun: variants.noun, key: variants.key, variants: new Map(all), any: { _tag: "Mapping", keys: anyKeys } }
  }
  if (annotations[ConfigAnnotation.staysString] === true || annotations[ConfigAnnotation.secret] === true) {
    return { _tag: "Leaf", staysString: annotations[ConfigAnnotation.staysString] === true, secret: annotations[ConfigAnnotation.secret] === true }
  }
  switch (ast._tag) {
    case "Refinement":
      return shapeOfAst(ast.from)
    case "TupleType": {
      const item = ast.rest[0]
      return item === undefined ? plainLeaf : { _tag: "List", item: shapeOfAst(item.type) }
    }
    case "TypeLiteral": {
      const index = ast.indexSignatures[0]
      return index === undefined ? plainLeaf : { _tag: "Record", value: shapeOfAst(index.type) }
    }
    case "Union": {
      // a section that may be left empty: the value's shape, not null's
      const members = ast.types.filter((member) => !isNullLiteral(member))
      return members.length === 1 && members[0] !== undefined ? shapeOfAst(members[0]) : plainLeaf
    }
    default:
      return plainLeaf
  }
}

export const shapeOf = (schema: Schema.Schema.Any): Shape => shapeOfAst(schema.ast)

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The mapping that accepts the keys of `node` (a mapping of the tree at this shape), or null when the shape is not
 * a mapping, or is a choice whose key (a receiver's `type`) does not name one: the schema reports that key alone.
 */
export const mappingFor = (shape: Shape, node: unknown): Mapping | null => {
  if (shape._tag === "Mapping") return shape
  if (shape._tag !== "Variants" || !isRecord(node)) return null
  const chosen = node[shape.key]
  return typeof chosen === "string" ? shape.variants.get(chosen) ?? null : null
}

/** The shape one step down: a key of a mapping (or of any variant), an item of a list, a value of a record. */
export const childShape = (shape: Shape, segment: string | number): Shape | undefined => {
  switch (shape._tag) {
    case "Mapping":
      return typeof segment === "string" ? shape.keys.get(segment) : undefined
    case "Variants":
      return typeof segment === "string" ? shape.any.keys.get(segment) : undefined
    case "List":
      return typeof segment === "number" ? shape.item : undefined
    case "Record":
      return typeof segment === "string" ? shape.value : undefined
    case "Leaf":
      return undefined
  }
}

export const shapeAt = (shape: Shape, path: ConfigPath): Shape | undefined =>
  path.reduce<Shape | undefined>((at, segment) => (at === undefined ? undefined : childShape(at, segment)), shape)

/** Paths (in `root`) of every string value the shape marks as a secret. */
export const secretPaths = (shape: Shape, root: unknown): ReadonlyArray<ConfigPath> => {
  const found: Array<ConfigPath> = []
  const walk = (at: Shape, node: unknown, path: ConfigPath): void => {
    if (at._tag === "Leaf") {
      if (at.secret && typeof node === "string") found.push(path)
      return
    }
    if (Array.isArray(node)) {
      if (at._tag === "List") node.forEach((item: unknown, i) => walk(at.item, item, [...path, i]))
      return
    }
    if (!isRecord(node)) return
    for (const [key, value] of Object.entries(node)) {
      const child = childShape(at, key)
      if (child !== undefined) walk(child, value, [...path, key])
    }
  }
  walk(shape, root, [])
  return found
}
