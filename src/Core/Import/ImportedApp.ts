import { actualAttribute } from "../Diff.js"
import type { CvmAttributes, DesiredStatus } from "../Domain/App.js"
import { attributeKeys } from "../Domain/App.js"
import type { AppId } from "../Domain/AppId.js"
import { normalizeStatus } from "../Domain/CvmStatus.js"
import type { ObservedApp } from "../Domain/Observation.js"

/** One `apps:` entry that `import` writes: what runs now, as a desired state that plans clean against it. */
export interface ImportedApp {
  readonly appId: AppId
  /** The API's name; null when it has none (the entry then has no `name`). */
  readonly name: string | null
  readonly replicas: number
  readonly status: DesiredStatus
  /** Only the attributes on which every CVM agrees. */
  readonly cvm: CvmAttributes
}

const isNumeric = (key: (typeof attributeKeys)[number]): key is "vcpu" | "memory_mb" | "disk_gb" =>
  key === "vcpu" || key === "memory_mb" || key === "disk_gb"

/** A value the config accepts for that key: a string that is not blank, a whole number >= 1, a 64-hex hash. */
const declarable = (key: (typeof attributeKeys)[number], value: string | number | null): boolean =>
  value === null
    ? false
    : isNumeric(key)
    ? typeof value === "number" && Number.isSafeInteger(value) && value >= 1
    : typeof value === "string" && (key === "compose_hash" ? /^[0-9a-fA-F]{64}$/.test(value) : value.trim() !== "")

/**
 * The attributes every CVM reports with the same value. Nothing when the answer did not carry every CVM (a count
 * without the objects): agreement among some is not agreement among all.
 */
export const agreedAttributes = (app: ObservedApp): CvmAttributes => {
  const [first, ...rest] = app.cvms
  if (first === undefined || app.cvms.length !== app.replicas) return {}
  const agreed: Record<string, string | number> = {}
  for (const key of attributeKeys) {
    const value = actualAttribute(first, key)
    if (value === null || !declarable(key, value)) continue
    if (rest.every((cvm) => actualAttribute(cvm, key) === value)) agreed[key] = value
  }
  // every value was checked against its key's type just above
  return agreed as CvmAttributes
}

/** `stopped` when every CVM is stopped; else `running` (an app without CVMs included). */
export const importedStatus = (app: ObservedApp): DesiredStatus =>
  app.cvms.length > 0 && app.cvms.length === app.replicas && app.cvms.every((cvm) => normalizeStatus(cvm.status) === "stopped")
    ? "stopped"
    : "running"

const usableName = (name: string | null): string | null => (name === null || name.trim() === "" ? null : name)

export const importedApp = (app: ObservedApp): ImportedApp => ({
  appId: app.appId,
  name: usableName(app.name),
  replicas: app.replicas,
  status: importedStatus(app),
  cvm: agreedAttributes(app)
})

const byNameThenId = (a: ImportedApp, b: ImportedApp): number => {
  const an = a.name ?? "\uffff"
  const bn = b.name ?? "\uffff"
  return an < bn ? -1 : an > bn ? 1 : a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0
}

/** The entries in a stable order (by name, then id), whatever order the API listed the apps in. */
export const importedApps = (apps: ReadonlyArray<ObservedApp>): ReadonlyArray<ImportedApp> =>
  apps.map(importedApp).sort(byNameThenId)
