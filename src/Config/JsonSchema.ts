import { JSONSchema } from "effect"
import { ConfigFile } from "./FileSchema.js"

/** Where the generated schema is committed, relative to the repository root (and what the examples point at). */
export const configSchemaPath = "schema/phala-drift.config.schema.json"

/**
 * The desired-state file as a JSON Schema, generated from the same Effect Schema the loader decodes with, for
 * editors (yaml-language-server completion and checks). It describes the file as written: the cross-field rules
 * (exactly one of api_key/api_key_file, routes naming declared receivers...) are `validate`'s.
 */
export const configJsonSchema = (): Record<string, unknown> => ({
  ...JSONSchema.make(ConfigFile),
  title: "phala-drift desired-state file",
  description: "The desired state phala-drift compares Phala Cloud apps against (docs/configuration.md)."
})

/** The committed file's text: two-space JSON and a final newline. */
export const configJsonSchemaText = (): string => `${JSON.stringify(configJsonSchema(), null, 2)}\n`
