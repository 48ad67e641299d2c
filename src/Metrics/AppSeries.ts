/**
 * The object-state series of one app (or one unmanaged app), one text segment per metric family. Pure: the store
 * decides when to call `renderSegment` by asking `sameSegment` whether the inputs of a family changed.
 */
import { isKnownStatus, knownStatuses } from "../Core/Domain/CvmStatus.js"
import type { FetchFailureReason } from "../Core/Domain/Observation.js"
import { fetchFailureReasons } from "../Core/Domain/Observation.js"
import type { AppReport, CvmReport, Drift, Health, Sync } from "../Core/Domain/Report.js"
import { appDriftKinds, syncStates } from "../Core/Domain/Report.js"
import { escapeLabelValue, familyHeader, formatValue, prefixedLabelNames } from "./TextFormat.js"

/** What an app's series are made of; `held` is the last report that was not `unknown`, kept while the app is. */
export interface AppSeriesInput {
  readonly _tag: "App"
  readonly appId: string
  readonly name: string
  readonly sync: Sync
  readonly failure: FetchFailureReason | null
  readonly lastSuccessSeconds: number | null
  readonly replicasMin: number
  readonly replicasMax: number | null
  readonly severity: string
  readonly labels: Readonly<Record<string, string>>
  readonly held: HeldState | null
}

export interface HeldState {
  /** Bit i set: drift of kind `appDriftKinds[i]`. */
  readonly driftMask: number
  readonly replicas: number | null
  readonly cvms: ReadonlyArray<CvmReport>
  /** Per CVM, same order: bit i set when a CVM of its identity shows drift of kind `cvmDriftKinds[i]`. */
  readonly cvmDriftMasks: ReadonlyArray<number>
}

/** An app in the workspace that the desired state does not declare (fed by the workspace sweep). */
export interface UnmanagedInput {
  readonly _tag: "Unmanaged"
  readonly appId: string
  readonly name: string
}

export type SeriesInput = AppSeriesInput | UnmanagedInput

const driftMask = (report: AppReport): number =>
  appDriftKinds.reduce((mask, kind, i) => (report.drifts.some((d) => d.kind === kind) ? mask | (1 << i) : mask), 0)

/** The drift kinds a single CVM can show, the `kind` of `phala_cvm_drift`. */
export const cvmDriftKinds = ["status", "attribute"] as const

type CvmDrift = Extract<Drift, { readonly kind: (typeof cvmDriftKinds)[number] }>

const isCvmDrift = (drift: Drift): drift is CvmDrift => drift.kind === "status" || drift.kind === "attribute"

/**
 * Per CVM of the report, which CVM drift kinds its identity (uuid and name) shows: the identity the built-in
 * engine's CVM alerts carry, so two CVMs reported with the same identity share one answer.
 */
export const cvmDriftMasks = (report: AppReport): ReadonlyArray<number> => {
  const byIdentity = new Map<string, number>()
  for (const drift of report.drifts) {
    if (!isCvmDrift(drift)) continue
    const key = JSON.stringify([drift.vmUuid, drift.cvmName])
    byIdentity.set(key, (byIdentity.get(key) ?? 0) | (1 << cvmDriftKinds.indexOf(drift.kind)))
  }
  return report.cvms.map((cvm) => byIdentity.get(JSON.stringify([cvm.vmUuid, cvm.name])) ?? 0)
}

/**
 * The next input of an app from its newest report. A report that is not `unknown` replaces what is held and sets the
 * last success to `observedAtSeconds`; an `unknown` one keeps both from `previous`.
 */
export const appSeriesInput = (
  previous: AppSeriesInput | undefined,
  report: AppReport,
  observedAtSeconds: number
): AppSeriesInput => {
  const known = report.sync !== "unknown"
  return {
    _tag: "App",
    appId: report.appId,
    name: report.name,
    sync: report.sync,
    failure: !known && report.error !== null ? report.error.reason : null,
    lastSuccessSeconds: known ? observedAtSeconds : previous?.lastSuccessSeconds ?? null,
    replicasMin: report.desired.replicas.min,
    replicasMax: report.desired.replicas.max,
    severity: report.desired.severity,
    labels: report.desired.labels,
    held: known
      ? {
        driftMask: driftMask(report),
        replicas: report.observed?.replicas ?? null,
        cvms: report.cvms,
        cvmDriftMasks: cvmDriftMasks(report)
      }
      : previous?.held ?? null
  }
}

// == families

interface Family {
  readonly name: string
  readonly help: string
  /** The family's samples of one object, each line ending in a newline; "" when it has none. */
  readonly render: (input: SeriesInput, ids: string) => string
  /** True when `render` would give the same text for both (identity labels are compared by the store). */
  readonly same: (a: SeriesInput, b: SeriesInput) => boolean
}

const cvmStates = [...knownStatuses, "other"] as const
const healthStates: ReadonlyArray<Health> = ["healthy", "progressing", "degraded", "unknown"]

const sample = (name: string, labels: string, value: number): string => `${name}{${labels}} ${formatValue(value)}\n`

const label = (name: string, value: string): string => `${name}="${escapeLabelValue(value)}"`

const oneHot = (name: string, ids: string, labelName: string, states: ReadonlyArray<string>, current: string | null) => {
  let out = ""
  for (const state of states) out += sample(name, `${ids},${labelName}="${state}"`, state === current ? 1 : 0)
  return out
}

const cvmIds = (ids: string, cvm: CvmReport): string => `${ids},${label("vm_uuid", cvm.vmUuid ?? "")},${label("cvm_name", cvm.name)}`

const cvmInfoLabels = (cvm: CvmReport): string =>
  [
    label("instance_type", cvm.instanceType ?? ""),
    label("region", cvm.region ?? ""),
    label("base_image", cvm.baseImage ?? ""),
    label("kms_type", cvm.kmsType ?? ""),
    label("node", cvm.node ?? "")
  ].join(",")

/**
 * CVM series by label set: one series per distinct set, in order of first appearance, with the values of the last
 * CVM that has it (two CVMs the API reports with the same uuid and name must not become duplicate series).
 */
const byLabelSet = (cvms: ReadonlyArray<CvmReport>, key: (cvm: CvmReport) => string): Iterable<[string, CvmReport]> => {
  const series = new Map<string, CvmReport>()
  for (const cvm of cvms) series.set(key(cvm), cvm)
  return series
}

const app = (input: SeriesInput): AppSeriesInput | null => (input._tag === "App" ? input : null)

/** Both apps (or both not apps) and `eq` holds for the apps. */
const sameApp = (eq: (a: AppSeriesInput, b: AppSeriesInput) => boolean) => (a: SeriesInput, b: SeriesInput): boolean => {
  const x = app(a)
  const y = app(b)
  return x === null || y === null ? x === y : eq(x, y)
}

const appFamily = (
  name: string,
  help: string,
  render: (input: AppSeriesInput, ids: string) => string,
  same: (a: AppSeriesInput, b: AppSeriesInput) => boolean
): Family => ({
  name,
  help,
  render: (input, ids) => (input._tag === "App" ? render(input, ids) : ""),
  same: sameApp(same)
})

const sameCvmStatus = (a: CvmReport, b: CvmReport): boolean => a.vmUuid === b.vmUuid && a.name === b.name && a.status === b.status
const sameCvmHealth = (a: CvmReport, b: CvmReport): boolean => a.vmUuid === b.vmUuid && a.name === b.name && a.health === b.health
const sameCvmIdentity = (a: CvmReport, b: CvmReport): boolean => a.vmUuid === b.vmUuid && a.name === b.name
const sameMasks = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a === b || (a.length === b.length && a.every((m, i) => m === b[i]))
const sameCvmInfo = (a: CvmReport, b: CvmReport): boolean =>
  a.vmUuid === b.vmUuid && a.name === b.name && a.instanceType === b.instanceType && a.region === b.region &&
  a.baseImage === b.baseImage && a.kmsType === b.kmsType && a.node === b.node

/** Held CVMs equal one by one in what `eq` looks at (the series follow the CVMs' order). */
const sameCvms = (eq: (a: CvmReport, b: CvmReport) => boolean) => (a: AppSeriesInput, b: AppSeriesInput): boolean => {
  const x = a.held?.cvms ?? []
  const y = b.held?.cvms ?? []
  return x === y || (x.length === y.length && x.every((cvm, i) => {
    const other = y[i]
    return other !== undefined && eq(cvm, other)
  }))
}

const sameLabels = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  if (a === b) return true
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k])
}

const cvmStatusLabel = (status: string): string => (isKnownStatus(status) ? status : "other")

/**
 * Every object-state family in exposition order. Names, help texts, labels and values are the contract of
 * docs/metrics.md (src/Metrics/Metrics.ts emits the same, all but `phala_app_unmanaged`).
 */
export const families: ReadonlyArray<Family> = [
  appFamily(
    "phala_app_up",
    "1 if the last fetch of the app from the Phala Cloud API succeeded (a 404 counts as success), else 0.",
    (a, ids) => sample("phala_app_up", ids, a.sync === "unknown" ? 0 : 1),
    (a, b) => (a.sync === "unknown") === (b.sync === "unknown")
  ),
  appFamily(
    "phala_app_sync_status",
    "Sync state of the app, one series per state (in_sync, out_of_sync, unknown), value 1 for the current state.",
    (a, ids) => oneHot("phala_app_sync_status", ids, "status", syncStates, a.sync),
    (a, b) => a.sync === b.sync
  ),
  appFamily(
    "phala_app_drift",
    "1 if the app shows drift of this kind (missing_app, replicas, status, attribute). Keeps its last observed value while the app is unknown.",
    (a, ids) => {
      let out = ""
      appDriftKinds.forEach((kind, i) => {
        out += sample("phala_app_drift", `${ids},kind="${kind}"`, ((a.held?.driftMask ?? 0) >> i) & 1)
      })
      return out
    },
    (a, b) => (a.held?.driftMask ?? 0) === (b.held?.driftMask ?? 0)
  ),
  appFamily(
    "phala_app_replicas",
    "Observed number of CVMs of the app (last observed value while the app is unknown).",
    (a, ids) => (a.held === null || a.held.replicas === null ? "" : sample("phala_app_replicas", ids, a.held.replicas)),
    (a, b) => (a.held?.replicas ?? null) === (b.held?.replicas ?? null)
  ),
  appFamily(
    "phala_app_replicas_desired_min",
    "Declared minimum number of CVMs.",
    (a, ids) => sample("phala_app_replicas_desired_min", ids, a.replicasMin),
    (a, b) => a.replicasMin === b.replicasMin
  ),
  appFamily(
    "phala_app_replicas_desired_max",
    "Declared maximum number of CVMs (+Inf when unbounded).",
    (a, ids) => sample("phala_app_replicas_desired_max", ids, a.replicasMax ?? Infinity),
    (a, b) => a.replicasMax === b.replicasMax
  ),
  appFamily(
    "phala_app_last_success_timestamp_seconds",
    "Unix time of the last successful fetch of the app.",
    (a, ids) => (a.lastSuccessSeconds === null ? "" : sample("phala_app_last_success_timestamp_seconds", ids, a.lastSuccessSeconds)),
    (a, b) => a.lastSuccessSeconds === b.lastSuccessSeconds
  ),
  appFamily(
    "phala_app_fetch_failure",
    `1 while the app cannot be observed, labelled with the closed-set reason (${fetchFailureReasons.join(", ")}).`,
    (a, ids) => (a.failure === null ? "" : sample("phala_app_fetch_failure", `${ids},reason="${a.failure}"`, 1)),
    (a, b) => a.failure === b.failure
  ),
  appFamily(
    "phala_cvm_status",
    "Status of the CVM, one series per known status plus other, value 1 for the current one.",
    (a, ids) => {
      let out = ""
      for (const [labels, cvm] of byLabelSet(a.held?.cvms ?? [], (c) => cvmIds(ids, c))) {
        out += oneHot("phala_cvm_status", labels, "status", cvmStates, cvmStatusLabel(cvm.status))
      }
      return out
    },
    sameCvms(sameCvmStatus)
  ),
  appFamily(
    "phala_cvm_health",
    "Health of the CVM against its desired status, one series per state (healthy, progressing, degraded, unknown).",
    (a, ids) => {
      let out = ""
      for (const [labels, cvm] of byLabelSet(a.held?.cvms ?? [], (c) => cvmIds(ids, c))) {
        out += oneHot("phala_cvm_health", labels, "health", healthStates, cvm.health)
      }
      return out
    },
    sameCvms(sameCvmHealth)
  ),
  appFamily(
    "phala_cvm_info",
    "Attributes of the CVM as labels; value always 1.",
    (a, ids) => {
      let out = ""
      for (const [labels] of byLabelSet(a.held?.cvms ?? [], (c) => `${cvmIds(ids, c)},${cvmInfoLabels(c)}`)) {
        out += sample("phala_cvm_info", labels, 1)
      }
      return out
    },
    sameCvms(sameCvmInfo)
  ),
  appFamily(
    "phala_cvm_drift",
    "1 if the CVM shows drift of this kind (status, attribute), one series per kind. Keeps its last observed value while the app is unknown.",
    (a, ids) => {
      const masks = a.held?.cvmDriftMasks ?? []
      const byLabels = new Map<string, number>()
      a.held?.cvms.forEach((cvm, i) => byLabels.set(cvmIds(ids, cvm), masks[i] ?? 0))
      let out = ""
      for (const [labels, mask] of byLabels) {
        cvmDriftKinds.forEach((kind, i) => {
          out += sample("phala_cvm_drift", `${labels},kind="${kind}"`, (mask >> i) & 1)
        })
      }
      return out
    },
    (a, b) => sameCvms(sameCvmIdentity)(a, b) && sameMasks(a.held?.cvmDriftMasks ?? [], b.held?.cvmDriftMasks ?? [])
  ),
  appFamily(
    "phala_app_info",
    "Declared settings of the app as labels (severity from the desired state); value always 1.",
    (a, ids) => sample("phala_app_info", `${ids},${label("severity", a.severity)}`, 1),
    (a, b) => a.severity === b.severity
  ),
  appFamily(
    "phala_app_labels",
    "The app's labels from the desired state as label_<name> labels (kube-state-metrics *_labels style); value always 1.",
    (a, ids) => {
      const pairs = prefixedLabelNames("label_", a.labels).map(([name, value]) => `,${label(name, value)}`).join("")
      return sample("phala_app_labels", `${ids}${pairs}`, 1)
    },
    (a, b) => sameLabels(a.labels, b.labels)
  ),
  {
    name: "phala_app_unmanaged",
    help: "1 for an app the workspace sweep found that the desired state does not declare (discovery.unmanaged: report).",
    render: (input, ids) => (input._tag === "Unmanaged" ? sample("phala_app_unmanaged", ids, 1) : ""),
    same: (a, b) => (a._tag === "Unmanaged") === (b._tag === "Unmanaged")
  }
]

/** The `# HELP` and `# TYPE` lines of family `i`. */
export const familyHeaders: ReadonlyArray<string> = families.map((f) => familyHeader(f.name, f.help, "gauge"))

/** `app_id="…",app_name="…"`: the labels every series of the object starts with. */
export const identityLabels = (input: SeriesInput): string => `${label("app_id", input.appId)},${label("app_name", input.name)}`

/** Family `family`'s samples of one object. */
export const renderSegment = (input: SeriesInput, family: number): string => {
  const spec = families[family]
  return spec === undefined ? "" : spec.render(input, identityLabels(input))
}

/** Whether family `family` renders the same text for both inputs. */
export const sameSegment = (a: SeriesInput, b: SeriesInput, family: number): boolean =>
  a.appId === b.appId && a.name === b.name && (families[family]?.same(a, b) ?? true)
