import { Schema } from "effect"
import { createRequire } from "node:module"

const PackageJson = Schema.Struct({ version: Schema.String })

// src/Support/Version.ts and dist/Support/Version.js both sit two levels below package.json
export const version: string = Schema.decodeUnknownSync(PackageJson)(createRequire(import.meta.url)("../../package.json")).version

export const userAgent = `phala-drift/${version}`
