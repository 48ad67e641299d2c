// Synthetic reports for in-process benchmarks (metric store, status page): N apps × 2 CVMs through the real diff.
import { join } from "node:path"
import { DIST } from "./lib.js"

const { diffApp } = await import(join(DIST, "Core", "Diff.js"))
const { Observation, FetchFailure } = await import(join(DIST, "Core", "Domain", "Observation.js"))
const { Duration } = await import("effect")

export const appIdOf = (i) => i.toString(16).padStart(40, "0")

const desired = (i) => ({
  appId: appIdOf(i),
  name: `bench-app-${String(i).padStart(5, "0")}`,
  labels: { team: `team-${i % 50}`, env: "prod" },
  replicas: { min: 2, max: 2 },
  status: "running",
  cvm: {},
  severity: "warning",
  for: Duration.minutes(2),
  keepFiringFor: null,
  maintenance: []
})

const cvm = (i, j, status) => ({
  vmUuid: `${appIdOf(i).slice(-8)}-0000-4000-8000-00000000000${j}`,
  name: `bench-app-${String(i).padStart(5, "0")}-${j}`,
  status,
  instanceType: ["tdx.small", "tdx.medium", "tdx.large"][i % 3],
  vcpu: 2,
  memoryMb: 4096,
  diskGb: 20,
  region: "EU-WEST-1",
  baseImage: "dstack-0.5.5",
  kmsType: "phala",
  node: `prod${5 + ((i + j) % 5)}`
})

/** App `i`: both CVMs running, or the second `stopped`, or the fetch failed. */
export const report = (i, variant = "in_sync") => {
  if (variant === "unknown") {
    return diffApp(desired(i), Observation.failed(new FetchFailure({ appId: appIdOf(i), reason: "timeout", status: null, message: "timed out" })))
  }
  const cvms = [cvm(i, 0, "running"), cvm(i, 1, variant === "stopped" ? "stopped" : "running")]
  return diffApp(desired(i), Observation.found({ appId: appIdOf(i), name: null, replicas: 2, cvms }))
}

/** A snapshot of N apps; `problems(i)` picks a variant per app. */
export const snapshot = (n, seconds, problems = () => "in_sync") => ({
  generatedAt: new Date(seconds * 1000),
  apps: Array.from({ length: n }, (_, i) => report(i, problems(i)))
})
