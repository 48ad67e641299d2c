/** Realistic defaults taken from the API reference (§7): instance types, nodes, transitional statuses. */

export interface InstanceType {
  readonly vcpu: number
  readonly memoryMb: number
  readonly gpus: number
  readonly hourlyRate: string
}

export const instanceTypes: Readonly<Record<string, InstanceType>> = {
  "tdx.small": { vcpu: 1, memoryMb: 2048, gpus: 0, hourlyRate: "0.058" },
  "tdx.medium": { vcpu: 2, memoryMb: 4096, gpus: 0, hourlyRate: "0.116" },
  "tdx.large": { vcpu: 4, memoryMb: 8192, gpus: 0, hourlyRate: "0.232" },
  "tdx.xlarge": { vcpu: 8, memoryMb: 16384, gpus: 0, hourlyRate: "0.464" },
  "tdx.2xlarge": { vcpu: 16, memoryMb: 32768, gpus: 0, hourlyRate: "0.928" },
  "tdx.4xlarge": { vcpu: 32, memoryMb: 65536, gpus: 0, hourlyRate: "1.856" },
  "tdx.8xlarge": { vcpu: 64, memoryMb: 131072, gpus: 0, hourlyRate: "3.712" },
  "h200.small": { vcpu: 24, memoryMb: 196608, gpus: 1, hourlyRate: "4.8" }
}

export const defaultInstanceType = "tdx.small"

export interface Node {
  readonly id: number
  readonly region: string
}

// Ids 11, 12, 16, 17, 18 appear in SDK fixtures; prod5's id is not published, 9 is our pick
export const nodes: Readonly<Record<string, Node>> = {
  prod5: { id: 9, region: "US-WEST-1" },
  prod6: { id: 11, region: "EU-WEST-1" },
  prod7: { id: 12, region: "US-WEST-1" },
  prod8: { id: 16, region: "EU-WEST-1" },
  prod9: { id: 18, region: "US-WEST-1" },
  prod10: { id: 17, region: "EU-WEST-1" }
}

/** OAS `KmsType`: the 2026 shapes declare it as an enum (the SDK rejects any other value), so scenarios do too. */
export const kmsTypes = ["phala", "ethereum", "base", "legacy"] as const

export const defaultNode = "prod5"
export const defaultBaseImage = "dstack-0.5.5"
export const defaultDiskGb = 20

/** Transitional statuses and the steady status each one resolves to. */
export const resolvesTo: Readonly<Record<string, string>> = {
  starting: "running",
  restarting: "running",
  creating: "running",
  provisioning: "running",
  stopping: "stopped",
  shutting_down: "stopped"
}

const transitional: ReadonlySet<string> = new Set([...Object.keys(resolvesTo), "deleting"])

export const isTransitional = (status: string): boolean => transitional.has(status.trim().toLowerCase())

export const apiVersions = ["2025-10-28", "2026-01-21", "2026-05-22"] as const
export type ApiVersion = (typeof apiVersions)[number]

export const isApiVersion = (s: string): s is ApiVersion => (apiVersions as ReadonlyArray<string>).includes(s)
