import { readFileSync } from "node:fs"

// Plain node:fs, not Schema: `--version` must start without loading Effect (cold start, issue 9 item 10).
// src/Support and dist/Support both sit two levels below the package root.
const readJson = (relative: string): unknown => {
  try {
    return JSON.parse(readFileSync(new URL(relative, import.meta.url), "utf8"))
  } catch {
    return undefined
  }
}

const stringField = (value: unknown, key: string): string | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const field: unknown = Reflect.get(value, key)
  return typeof field === "string" && field !== "" ? field : undefined
}

export const version: string = stringField(readJson("../../package.json"), "version") ?? "unknown"

/** The git commit the build was made from: written into dist/build-info.json by `npm run build`. */
export const commit: string = stringField(readJson("../../dist/build-info.json"), "commit") ?? "unknown"

export const userAgent = `phala-drift/${version}`

export interface VersionInfo {
  readonly version: string
  readonly commit: string
  readonly node: string
}

export const versionInfo = (): VersionInfo => ({ version, commit, node: process.versions.node })

export const formatVersion = (info: VersionInfo): string =>
  `phala-drift ${info.version} (commit ${info.commit}, Node.js ${info.node})`
