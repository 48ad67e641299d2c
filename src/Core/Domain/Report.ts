import type { AttributeKey, DesiredApp } from "./App.js"
import type { AppId } from "./AppId.js"
import type { ReplicaRange } from "./ReplicaRange.js"
import type { FetchFailureReason } from "./Observation.js"

export type Sync = "in_sync" | "out_of_sync" | "unknown"
export const syncStates: ReadonlyArray<Sync> = ["in_sync", "out_of_sync", "unknown"]

export type Health = "healthy" | "progressing" | "degraded" | "unknown"

export type DriftKind = "missing_app" | "replicas" | "status" | "attribute" | "unmanaged_app"
/** The kinds a declared app can show; `unmanaged_app` is reserved for account-wide discovery. */
export const appDriftKinds = ["missing_app", "replicas", "status", "attribute"] as const

export type Drift =
  | { readonly kind: "missing_app"; readonly desired: "present"; readonly actual: "absent" }
  | { readonly kind: "replicas"; readonly desired: ReplicaRange; readonly actual: number }
  | {
    readonly kind: "status"
    readonly vmUuid: string | null
    readonly cvmName: string
    readonly desired: string
    readonly actual: string
    readonly health: Health
  }
  | {
    readonly kind: "attribute"
    readonly vmUuid: string | null
    readonly cvmName: string
    readonly field: AttributeKey
    readonly desired: string | number
    readonly actual: string | number | null
  }

export interface CvmReport {
  readonly vmUuid: string | null
  readonly name: string
  /** Lower-cased status string. */
  readonly status: string
  readonly health: Health
  readonly instanceType: string | null
  readonly region: string | null
  readonly baseImage: string | null
  readonly kmsType: string | null
  readonly node: string | null
}

export interface AppError {
  readonly reason: FetchFailureReason
  readonly status: number | null
  readonly message: string
}

export interface AppReport {
  readonly appId: AppId
  /** Config name, else the API's name, else the app id. */
  readonly name: string
  readonly desired: DesiredApp
  readonly sync: Sync
  readonly error: AppError | null
  /** Null when the app is unknown or missing. */
  readonly observed: { readonly replicas: number; readonly statuses: Readonly<Record<string, number>> } | null
  readonly drifts: ReadonlyArray<Drift>
  readonly cvms: ReadonlyArray<CvmReport>
}

/** An app the workspace sweep found that the desired state does not declare (`discovery.unmanaged: report`). */
export interface UnmanagedApp {
  readonly appId: AppId
  /** The API's name, else the app id. */
  readonly name: string
  /** Null when the listing did not say (an entry in the minimal shape). */
  readonly replicas: number | null
  /** CVMs by lower-cased status. */
  readonly statuses: Readonly<Record<string, number>>
}

/** How a cycle read the fleet (`api.fetch`), and what it learnt of the workspace. */
export interface FleetReading {
  readonly fetch: "list" | "per_app"
  /** Apps in the workspace as the last sweep's page 1 said; null before any sweep. */
  readonly workspaceSize: number | null
  /** The sweep read every page (discovery is complete); false without a sweep. */
  readonly sweepComplete: boolean
}

export interface Snapshot {
  readonly generatedAt: Date
  readonly apps: ReadonlyArray<AppReport>
  /** Present only with `discovery.unmanaged: report`. */
  readonly unmanaged?: ReadonlyArray<UnmanagedApp>
  readonly reading?: FleetReading
}

export interface Summary {
  readonly apps: number
  readonly in_sync: number
  readonly out_of_sync: number
  readonly unknown: number
  readonly drifts: number
  /** Present only with `discovery.unmanaged: report`. */
  readonly unmanaged?: number
}

export const summarize = (apps: ReadonlyArray<AppReport>): Summary => ({
  apps: apps.length,
  in_sync: apps.filter((a) => a.sync === "in_sync").length,
  out_of_sync: apps.filter((a) => a.sync === "out_of_sync").length,
  unknown: apps.filter((a) => a.sync === "unknown").length,
  drifts: apps.reduce((n, a) => n + a.drifts.length, 0)
})
