/**
 * The prom-client renderer of the object-state families that served /metrics before the metric store
 * (src/Metrics/Store.ts), kept as the test oracle: a second, independent implementation of the same contract
 * (prom-client's own label escaping and validation), which the served exposition must agree with family by family.
 */
import * as Prom from "prom-client"
import { isKnownStatus, knownStatuses } from "../../src/Core/Domain/CvmStatus.js"
import { fetchFailureReasons } from "../../src/Core/Domain/Observation.js"
import type { AppReport, Snapshot } from "../../src/Core/Domain/Report.js"
import { appDriftKinds, syncStates } from "../../src/Core/Domain/Report.js"
import { cvmDriftKinds, cvmDriftMasks } from "../../src/Metrics/AppSeries.js"
import { prefixedLabelNames } from "../../src/Metrics/TextFormat.js"

const appLabels = ["app_id", "app_name"] as const
const cvmLabels = ["app_id", "app_name", "vm_uuid", "cvm_name"] as const

const statusLabel = (status: string): string => (isKnownStatus(status) ? status : "other")

const makeObjectRegistry = () => {
  const registry = new Prom.Registry()
  const registers = [registry]
  const gauge = <L extends string>(name: string, help: string, labelNames: ReadonlyArray<L>) =>
    new Prom.Gauge<L>({ name, help, labelNames, registers })
  const m = {
    appUp: gauge("phala_app_up", "1 if the last fetch of the app from the Phala Cloud API succeeded (a 404 counts as success), else 0.", appLabels),
    appSync: gauge("phala_app_sync_status", "Sync state of the app, one series per state (in_sync, out_of_sync, unknown), value 1 for the current state.", [...appLabels, "status"]),
    appDrift: gauge("phala_app_drift", "1 if the app shows drift of this kind (missing_app, replicas, status, attribute). Keeps its last observed value while the app is unknown.", [...appLabels, "kind"]),
    appReplicas: gauge("phala_app_replicas", "Observed number of CVMs of the app (last observed value while the app is unknown).", appLabels),
    appReplicasMin: gauge("phala_app_replicas_desired_min", "Declared minimum number of CVMs.", appLabels),
    appReplicasMax: gauge("phala_app_replicas_desired_max", "Declared maximum number of CVMs (+Inf when unbounded).", appLabels),
    appLastSuccess: gauge("phala_app_last_success_timestamp_seconds", "Unix time of the last successful fetch of the app.", appLabels),
    appFetchFailure: gauge("phala_app_fetch_failure", `1 while the app cannot be observed, labelled with the closed-set reason (${fetchFailureReasons.join(", ")}).`, [...appLabels, "reason"]),
    cvmStatus: gauge("phala_cvm_status", "Status of the CVM, one series per known status plus other, value 1 for the current one.", [...cvmLabels, "status"]),
    cvmHealth: gauge("phala_cvm_health", "Health of the CVM against its desired status, one series per state (healthy, progressing, degraded, unknown).", [...cvmLabels, "health"]),
    cvmInfo: gauge("phala_cvm_info", "Attributes of the CVM as labels; value always 1.", [...cvmLabels, "instance_type", "region", "base_image", "kms_type", "node"]),
    cvmDrift: gauge("phala_cvm_drift", "1 if the CVM shows drift of this kind (status, attribute), one series per kind. Keeps its last observed value while the app is unknown.", [...cvmLabels, "kind"]),
    appInfo: gauge("phala_app_info", "Declared settings of the app as labels (severity from the desired state); value always 1.", [...appLabels, "severity"])
  }
  return { registry, m }
}

const appLabelsName = "phala_app_labels"
const appLabelsHelp = "The app's labels from the desired state as label_<name> labels (kube-state-metrics *_labels style); value always 1."

/**
 * `phala_app_labels`: prom-client fixes a gauge's label names when it is made, while these come from the config, so
 * the gauge is made again whenever the set of names in use changes (a reload); each series sets only its own.
 */
const appLabelsGauge = (registry: Prom.Registry) => {
  let names = ""
  let gauge: Prom.Gauge<string> | null = null
  return (apps: ReadonlyArray<AppReport>) => {
    const rows = apps.map((app) => ({ app, pairs: prefixedLabelNames("label_", app.desired.labels) }))
    const all = [...new Set(rows.flatMap((r) => r.pairs.map(([name]) => name)))].sort()
    if (gauge === null || all.join(",") !== names) {
      if (gauge !== null) registry.removeSingleMetric(appLabelsName)
      names = all.join(",")
      gauge = new Prom.Gauge({ name: appLabelsName, help: appLabelsHelp, labelNames: [...appLabels, ...all], registers: [registry] })
    }
    gauge.reset()
    for (const { app, pairs } of rows) gauge.set({ app_id: app.appId, app_name: app.name, ...Object.fromEntries(pairs) }, 1)
  }
}

const oneHot = <S extends string>(states: ReadonlyArray<S>, current: S | null, set: (state: S, v: 0 | 1) => void) => {
  for (const state of states) set(state, state === current ? 1 : 0)
}

/** The object-state text prom-client renders for each snapshot recorded, in order. */
export const promClientObjectState = () => {
  const { m, registry } = makeObjectRegistry()
  const writeAppLabels = appLabelsGauge(registry)
  const lastKnown = new Map<string, AppReport>()
  const lastSuccess = new Map<string, number>()

  const writeApp = (app: AppReport, nowSeconds: number) => {
    const labels = { app_id: app.appId, app_name: app.name }
    m.appUp.set(labels, app.sync === "unknown" ? 0 : 1)
    oneHot(syncStates, app.sync, (status, v) => m.appSync.set({ ...labels, status }, v))
    if (app.sync !== "unknown") {
      lastKnown.set(app.appId, app)
      lastSuccess.set(app.appId, nowSeconds)
    } else if (app.error !== null) {
      m.appFetchFailure.set({ ...labels, reason: app.error.reason }, 1)
    }
    const success = lastSuccess.get(app.appId)
    if (success !== undefined) m.appLastSuccess.set(labels, success)
    m.appReplicasMin.set(labels, app.desired.replicas.min)
    m.appReplicasMax.set(labels, app.desired.replicas.max ?? Number.POSITIVE_INFINITY)
    m.appInfo.set({ ...labels, severity: app.desired.severity }, 1)
    const known = lastKnown.get(app.appId)
    const kinds = new Set(known?.drifts.map((d) => d.kind) ?? [])
    for (const kind of appDriftKinds) m.appDrift.set({ ...labels, kind }, kinds.has(kind) ? 1 : 0)
    if (known === undefined) return
    if (known.observed !== null) m.appReplicas.set(labels, known.observed.replicas)
    const driftMasks = cvmDriftMasks(known)
    known.cvms.forEach((cvm, i) => {
      const cvmLabelValues = { ...labels, vm_uuid: cvm.vmUuid ?? "", cvm_name: cvm.name }
      const mask = driftMasks[i] ?? 0
      cvmDriftKinds.forEach((kind, bit) => m.cvmDrift.set({ ...cvmLabelValues, kind }, (mask >> bit) & 1))
      oneHot([...knownStatuses, "other"], statusLabel(cvm.status), (status, v) => m.cvmStatus.set({ ...cvmLabelValues, status }, v))
      oneHot(["healthy", "progressing", "degraded", "unknown"], cvm.health, (health, v) => m.cvmHealth.set({ ...cvmLabelValues, health }, v))
      m.cvmInfo.set({
        ...cvmLabelValues,
        instance_type: cvm.instanceType ?? "",
        region: cvm.region ?? "",
        base_image: cvm.baseImage ?? "",
        kms_type: cvm.kmsType ?? "",
        node: cvm.node ?? ""
      }, 1)
    })
  }

  const objectGauges = [m.appUp, m.appSync, m.appDrift, m.appReplicas, m.appReplicasMin, m.appReplicasMax, m.appLastSuccess, m.appFetchFailure, m.cvmStatus, m.cvmHealth, m.cvmInfo, m.cvmDrift, m.appInfo]
  return (snapshot: Snapshot): Promise<string> => {
    const nowSeconds = snapshot.generatedAt.getTime() / 1000
    const present = new Set(snapshot.apps.map((a) => a.appId))
    for (const id of [...lastKnown.keys()]) if (!present.has(id)) lastKnown.delete(id)
    for (const id of [...lastSuccess.keys()]) if (!present.has(id)) lastSuccess.delete(id)
    for (const g of objectGauges) g.reset()
    for (const app of snapshot.apps) writeApp(app, nowSeconds)
    writeAppLabels(snapshot.apps)
    return registry.metrics()
  }
}
