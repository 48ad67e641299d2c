import { Duration, type Redacted } from "effect"
import type { AlertingSettings, MaintenanceWindow } from "./Alert.js"
import type { AppId } from "./AppId.js"
import type { ReplicaRange } from "./ReplicaRange.js"
import type { Shard } from "./Shard.js"

export type DesiredStatus = "running" | "stopped"

export const attributeKeys = [
  "instance_type",
  "vcpu",
  "memory_mb",
  "disk_gb",
  "region",
  "base_image",
  "kms_type",
  "node"
] as const
export type AttributeKey = (typeof attributeKeys)[number]

export type CvmAttributes = { readonly [K in AttributeKey]?: K extends "vcpu" | "memory_mb" | "disk_gb" ? number : string }

export interface DesiredApp {
  readonly appId: AppId
  /** Display name from the config; the API's name is used when absent. */
  readonly name: string | null
  readonly labels: Readonly<Record<string, string>>
  readonly replicas: ReplicaRange
  readonly status: DesiredStatus
  readonly cvm: CvmAttributes
  readonly severity: string
  readonly for: Duration.Duration
  readonly keepFiringFor: Duration.Duration | null
  /** Windows during which this app's alerts are silenced (not sent). */
  readonly maintenance: ReadonlyArray<MaintenanceWindow>
}

export interface ApiSettings {
  /** Base URL including `/api/v1`, without a trailing slash. */
  readonly url: string
  readonly apiKey: Redacted.Redacted<string>
  readonly apiVersion: string
  readonly timeout: Duration.Duration
  readonly retries: number
  readonly concurrency: number
  /** Most bytes of one response body read (after decompression); a larger 2xx body is `bad_response`. */
  readonly maxResponseBytes?: number
  /** `auto` when absent. */
  readonly fetch?: FetchMode
}

/** `api.fetch`: how a cycle reads the declared apps (DESIGN §11). */
export type FetchMode = "auto" | "list" | "per_app"
export const fetchModes: ReadonlyArray<FetchMode> = ["auto", "list", "per_app"]

/** `discovery:` — apps in the workspace that the desired state does not declare. */
export interface DiscoverySettings {
  readonly unmanaged: "ignore" | "report"
  /** App ids (normalised) or globs over names and ids (`*`, `?`) never reported. */
  readonly ignore: ReadonlyArray<string>
}
export const noDiscovery: DiscoverySettings = { unmanaged: "ignore", ignore: [] }

/** `api.max_response_bytes` by default: 8 MiB, some hundred times the answer of an app with many replicas. */
export const defaultMaxResponseBytes = 8 * 1024 * 1024

export type PollSchedule =
  | { readonly _tag: "Interval"; readonly interval: Duration.Duration }
  | { readonly _tag: "Cron"; readonly expression: string }

export type ServerAuth =
  | { readonly _tag: "Bearer"; readonly token: Redacted.Redacted<string> }
  | { readonly _tag: "Basic"; readonly username: string; readonly password: Redacted.Redacted<string> }

export interface ServerTls {
  readonly certFile: string
  readonly keyFile: string
}

export interface ServerSettings {
  readonly host: string
  readonly port: number
  readonly lifecycle: boolean
  readonly auth: ServerAuth | null
  readonly tls: ServerTls | null
  /** `POST {path}` for Phala Cloud workspace webhooks; null: no such route. */
  readonly phalaWebhook: PhalaWebhookSettings | null
}

export interface PhalaWebhookSettings {
  readonly path: string
  readonly secret: Redacted.Redacted<string>
}

export interface DaemonConfig {
  /** Path of the file the config was loaded from. */
  readonly source: string
  readonly api: ApiSettings
  readonly poll: PollSchedule
  readonly server: ServerSettings
  readonly stateDir: string
  readonly apps: ReadonlyArray<DesiredApp>
  /** Built-in alerting; null when the file has no `alerting:` block. */
  readonly alerting: AlertingSettings | null
  /** `ignore` everything when absent. */
  readonly discovery?: DiscoverySettings
  /** With `--shard`: `apps` holds this shard's apps, `declared` every app of the file (never unmanaged). */
  readonly sharding?: { readonly shard: Shard; readonly declared: ReadonlySet<AppId> }
}

/** The time between cycles: the interval, or a minute for cron schedules (whose period varies). */
export const pollPeriod = (config: DaemonConfig): Duration.Duration =>
  config.poll._tag === "Interval" ? config.poll.interval : Duration.minutes(1)

const declaredIndex = new WeakMap<DaemonConfig, ReadonlyMap<string, DesiredApp>>()

/** The declared app with this id, by an index built once per loaded config (webhook events look apps up one by one). */
export const declaredApp = (config: DaemonConfig, appId: string): DesiredApp | undefined => {
  let index = declaredIndex.get(config)
  if (index === undefined) {
    index = new Map(config.apps.map((app) => [app.appId, app]))
    declaredIndex.set(config, index)
  }
  return index.get(appId)
}
