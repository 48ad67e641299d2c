import type { ReplicaRange } from "../Domain/ReplicaRange.js"
import type { AppError, AppReport, Drift, Snapshot, Summary, UnmanagedApp } from "../Domain/Report.js"
import { summarize } from "../Domain/Report.js"
import { type Action, type ActionOptions, fleetActions } from "./Actions.js"

export interface PlanDriftJson {
  readonly kind: Drift["kind"]
  readonly vm_uuid: string | null
  readonly cvm_name: string | null
  readonly field: string
  readonly desired: string | number | ReplicaRange
  readonly actual: string | number | null
}

export interface PlanAppJson {
  readonly app_id: string
  readonly name: string
  readonly sync: AppReport["sync"]
  readonly error: AppError | null
  readonly observed: AppReport["observed"]
  readonly drifts: ReadonlyArray<PlanDriftJson>
}

export interface PlanUnmanagedJson {
  readonly app_id: string
  readonly name: string
  readonly replicas: number | null
  readonly statuses: Readonly<Record<string, number>>
}

export interface PlanJson {
  readonly format_version: "1.1"
  readonly generated_at: string
  readonly summary: Summary
  readonly apps: ReadonlyArray<PlanAppJson>
  /** What `apply` would do (DESIGN §13), in app then drift order. */
  readonly actions: ReadonlyArray<Action>
  /** With `discovery.unmanaged: report` only. */
  readonly unmanaged?: ReadonlyArray<PlanUnmanagedJson>
}

export const driftJson = (drift: Drift): PlanDriftJson => {
  switch (drift.kind) {
    case "missing_app":
      return { kind: drift.kind, vm_uuid: null, cvm_name: null, field: "app", desired: drift.desired, actual: drift.actual }
    case "replicas":
      return {
        kind: drift.kind,
        vm_uuid: null,
        cvm_name: null,
        field: "replicas",
        desired: { min: drift.desired.min, max: drift.desired.max },
        actual: drift.actual
      }
    case "status":
      return {
        kind: drift.kind,
        vm_uuid: drift.vmUuid,
        cvm_name: drift.cvmName,
        field: "status",
        desired: drift.desired,
        actual: drift.actual
      }
    case "attribute":
      return {
        kind: drift.kind,
        vm_uuid: drift.vmUuid,
        cvm_name: drift.cvmName,
        field: drift.field,
        desired: drift.desired,
        actual: drift.actual
      }
  }
}

export const appJson = (app: AppReport): PlanAppJson => ({
  app_id: app.appId,
  name: app.name,
  sync: app.sync,
  error: app.error === null ? null : { reason: app.error.reason, status: app.error.status, message: app.error.message },
  observed: app.observed,
  drifts: app.drifts.map(driftJson)
})

const unmanagedJson = (app: UnmanagedApp): PlanUnmanagedJson => ({
  app_id: app.appId,
  name: app.name,
  replicas: app.replicas,
  statuses: app.statuses
})

/**
 * The plan document of DESIGN.md §5, §11 and §13: "1.1" adds `actions` (what `apply` would do) and, with discovery,
 * `unmanaged` (additive: readers of "1" keep working).
 */
export const planJson = (snapshot: Snapshot, options: ActionOptions = { force: false }): PlanJson => {
  const unmanaged = snapshot.unmanaged
  return {
    format_version: "1.1",
    generated_at: snapshot.generatedAt.toISOString(),
    summary: { ...summarize(snapshot.apps), ...(unmanaged === undefined ? {} : { unmanaged: unmanaged.length }) },
    apps: snapshot.apps.map(appJson),
    actions: fleetActions(snapshot.apps, options).actions,
    ...(unmanaged === undefined ? {} : { unmanaged: unmanaged.map(unmanagedJson) })
  }
}

/** 0 all in sync · 2 drift found (an unmanaged app is drift) · 3 no drift but some apps unknown. */
export const planExitCode = (summary: Summary): 0 | 2 | 3 =>
  summary.out_of_sync > 0 || (summary.unmanaged ?? 0) > 0 ? 2 : summary.unknown > 0 ? 3 : 0
