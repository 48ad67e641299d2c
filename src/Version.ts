import { Schema } from "effect"
import { createRequire } from "node:module"

const PackageJson = Schema.Struct({ version: Schema.String })

// src/Version.ts and dist/Version.js both sit one level below package.json
export const version: string = Schema.decodeUnknownSync(PackageJson)(createRequire(import.meta.url)("../package.json")).version

export const userAgent = `phala-drift/${version}`
