import type { AttributeKey, CvmAttributes, DesiredApp } from "./Domain/App.js"
import { attributeKeys } from "./Domain/App.js"
import { healthOf, normalizeStatus } from "./Domain/CvmStatus.js"
import type { Observation, ObservedApp, ObservedCvm } from "./Domain/Observation.js"
import type { AppReport, CvmReport, Drift } from "./Domain/Report.js"
import { withinRange } from "./Domain/ReplicaRange.js"

/** The value of a `cvm:` attribute as the API reported it for one CVM. */
export const actualAttribute = (cvm: ObservedCvm, key: AttributeKey): string | number | null => {
  switch (key) {
    case "instance_type":
      return cvm.instanceType
    case "vcpu":
      return cvm.vcpu
    case "memory_mb":
      return cvm.memoryMb
    case "disk_gb":
      return cvm.diskGb
    case "region":
      return cvm.region
    case "base_image":
      return cvm.baseImage
    case "kms_type":
      return cvm.kmsType
    case "node":
      return cvm.node
    case "compose_hash":
      return cvm.composeHash
  }
}

// Region and image names show up in mixed case across API versions and SDKs; a case change is not drift.
const sameValue = (desired: string | number, actual: string | number | null): boolean =>
  typeof desired === "string" && typeof actual === "string"
    ? desired.trim().toLowerCase() === actual.trim().toLowerCase()
    : desired === actual

const attributeDrifts = (cvm: ObservedCvm, wanted: CvmAttributes): ReadonlyArray<Drift> =>
  attributeKeys.flatMap((field): ReadonlyArray<Drift> => {
    const desired = wanted[field]
    if (desired === undefined) return []
    const actual = actualAttribute(cvm, field)
    // only the 2026-01-21 shape reports compose_hash: a CVM that did not say is not one that runs something else
    if (field === "compose_hash" && actual === null) return []
    return sameValue(desired, actual)
      ? []
      : [{ kind: "attribute", vmUuid: cvm.vmUuid, cvmName: cvm.name, field, desired, actual }]
  })

const cvmReport = (cvm: ObservedCvm, desired: DesiredApp): CvmReport => ({
  vmUuid: cvm.vmUuid,
  name: cvm.name,
  status: normalizeStatus(cvm.status),
  health: healthOf(cvm.status, desired.status),
  instanceType: cvm.instanceType,
  region: cvm.region,
  baseImage: cvm.baseImage,
  kmsType: cvm.kmsType,
  node: cvm.node
})

/** Sort key that makes reports independent of the order the API lists CVMs in. */
const cvmKey = (cvm: ObservedCvm): string =>
  JSON.stringify([
    cvm.vmUuid,
    cvm.name,
    cvm.status,
    cvm.instanceType,
    cvm.vcpu,
    cvm.memoryMb,
    cvm.diskGb,
    cvm.region,
    cvm.baseImage,
    cvm.kmsType,
    cvm.node,
    cvm.composeHash
  ])

const byKey = (a: ObservedCvm, b: ObservedCvm): number => {
  const ka = cvmKey(a)
  const kb = cvmKey(b)
  return ka < kb ? -1 : ka > kb ? 1 : 0
}

const statusCounts = (cvms: ReadonlyArray<CvmReport>): Readonly<Record<string, number>> => {
  const counts: Record<string, number> = {}
  for (const cvm of cvms) counts[cvm.status] = (counts[cvm.status] ?? 0) + 1
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

const diffFound = (desired: DesiredApp, app: ObservedApp): AppReport => {
  const cvmsSorted = [...app.cvms].sort(byKey)
  const cvms = cvmsSorted.map((cvm) => cvmReport(cvm, desired))
  const replicaDrift: ReadonlyArray<Drift> = withinRange(app.replicas, desired.replicas)
    ? []
    : [{ kind: "replicas", desired: desired.replicas, actual: app.replicas }]
  const cvmDrifts = cvmsSorted.flatMap((cvm, i): ReadonlyArray<Drift> => {
    const report = cvms[i]
    const status: ReadonlyArray<Drift> = report === undefined || report.health === "healthy"
      ? []
      : [{
        kind: "status",
        vmUuid: cvm.vmUuid,
        cvmName: cvm.name,
        desired: desired.status,
        actual: report.status,
        health: report.health
      }]
    return [...status, ...attributeDrifts(cvm, desired.cvm)]
  })
  const drifts = [...replicaDrift, ...cvmDrifts]
  return {
    appId: desired.appId,
    name: desired.name ?? app.name ?? desired.appId,
    desired,
    sync: drifts.length === 0 ? "in_sync" : "out_of_sync",
    error: null,
    observed: { replicas: app.replicas, statuses: statusCounts(cvms) },
    drifts,
    cvms
  }
}

/** Desired app × observation → report. Pure: no clock, no I/O. */
export const diffApp = (desired: DesiredApp, observation: Observation): AppReport => {
  switch (observation._tag) {
    case "Found":
      return diffFound(desired, observation.app)
    case "NotFound":
      return {
        appId: desired.appId,
        name: desired.name ?? desired.appId,
        desired,
        sync: "out_of_sync",
        error: null,
        observed: null,
        drifts: [{ kind: "missing_app", desired: "present", actual: "absent" }],
        cvms: []
      }
    case "Failed": {
      const { reason, status, message } = observation.failure
      return {
        appId: desired.appId,
        name: desired.name ?? desired.appId,
        desired,
        sync: "unknown",
        error: { reason, status, message },
        observed: null,
        drifts: [],
        cvms: []
      }
    }
  }
}
