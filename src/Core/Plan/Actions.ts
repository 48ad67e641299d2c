import type { DesiredStatus } from "../Domain/App.js"
import type { AppReport, Drift } from "../Domain/Report.js"

/**
 * What `apply` and self-healing may do about drift: the closed table of DESIGN §13. Only two cases are remediable
 * (start what should run and is stopped or exited; shut down what runs and should be stopped); a CVM on its way
 * to the desired status is waited for; everything else needs a person. Pure: the same report always gives the
 * same decisions, so a plan, an apply and the daemon agree.
 */

export type ActionKind = "start" | "shutdown" | "stop"
export const actionKinds: ReadonlyArray<ActionKind> = ["start", "shutdown", "stop"]

/** Why a drift is left to a person (a closed set, shown in the plan). */
export type ManualReason = "missing_app" | "replicas" | "attribute" | "unknown_app" | "status" | "no_vm_uuid"

/** An action `apply` would take: `from` is the observed status, `to` the desired one. */
export interface Action {
  readonly app_id: string
  readonly vm_uuid: string
  readonly cvm_name: string
  readonly action: ActionKind
  readonly from: string
  readonly to: DesiredStatus
}

export interface Wait {
  readonly app_id: string
  readonly vm_uuid: string | null
  readonly cvm_name: string
  readonly from: string
  readonly to: DesiredStatus
}

export interface Manual {
  readonly app_id: string
  readonly vm_uuid: string | null
  readonly cvm_name: string | null
  readonly reason: ManualReason
  readonly detail: string
}

export type Decision =
  | { readonly _tag: "Act"; readonly action: Action }
  | { readonly _tag: "Wait"; readonly wait: Wait }
  | { readonly _tag: "Manual"; readonly manual: Manual }

export interface ActionOptions {
  /** `stop` (hard power-off) instead of the graceful `shutdown`. */
  readonly force: boolean
}

/**
 * The `{cvm_id}` of the action endpoints: the vm_uuid without dashes. Null when the API's vm_uuid is not a UUID,
 * so that nothing the API sent ever lands unchecked in a request path.
 */
export const cvmIdOf = (vmUuid: string): string | null => {
  const id = vmUuid.replace(/-/g, "").toLowerCase()
  return /^[0-9a-f]{32}$/.test(id) ? id : null
}

const remediable = (desired: DesiredStatus, actual: string): "start" | "shutdown" | null => {
  if (desired === "running" && (actual === "stopped" || actual === "exited")) return "start"
  if (desired === "stopped" && actual === "running") return "shutdown"
  return null
}

const quoted = (v: string | number | null): string => (v === null ? "(none)" : JSON.stringify(v))

/** The decision about one drift of a report (what the text plan shows next to it). */
export const decideDrift = (report: AppReport, drift: Drift, options: ActionOptions): Decision => {
  const appId = report.appId
  const manual = (reason: ManualReason, vmUuid: string | null, cvmName: string | null, detail: string): Decision => ({
    _tag: "Manual",
    manual: { app_id: appId, vm_uuid: vmUuid, cvm_name: cvmName, reason, detail }
  })
  switch (drift.kind) {
    case "missing_app":
      return manual("missing_app", null, null, "the app does not exist: deploy it, or remove it from the config")
    case "replicas":
      return manual(
        "replicas",
        null,
        null,
        `${drift.actual} ${drift.actual === 1 ? "replica" : "replicas"} outside ${drift.desired.min}..${drift.desired.max}: ` +
          "add or remove replicas by hand"
      )
    case "attribute":
      return manual(
        "attribute",
        drift.vmUuid,
        drift.cvmName,
        `${drift.field} is ${quoted(drift.actual)}, desired ${quoted(drift.desired)}: phala-drift never changes attributes`
      )
    case "status": {
      const to = report.desired.status
      if (drift.health === "progressing") {
        return { _tag: "Wait", wait: { app_id: appId, vm_uuid: drift.vmUuid, cvm_name: drift.cvmName, from: drift.actual, to } }
      }
      const kind = remediable(to, drift.actual)
      if (kind === null) {
        return manual("status", drift.vmUuid, drift.cvmName, `status ${quoted(drift.actual)} has no automatic remedy towards ${to}`)
      }
      if (drift.vmUuid === null || cvmIdOf(drift.vmUuid) === null) {
        return manual("no_vm_uuid", drift.vmUuid, drift.cvmName, "the API gave no usable vm_uuid to address this CVM")
      }
      return {
        _tag: "Act",
        action: {
          app_id: appId,
          vm_uuid: drift.vmUuid,
          cvm_name: drift.cvmName,
          action: kind === "shutdown" && options.force ? "stop" : kind,
          from: drift.actual,
          to
        }
      }
    }
  }
}

/** Every decision for one app's report, in the order of its drifts; an unknown app is one manual entry. */
export const planActions = (report: AppReport, options: ActionOptions): ReadonlyArray<Decision> => {
  if (report.sync === "unknown") {
    const why = report.error === null ? "" : ` (${report.error.reason})`
    return [{
      _tag: "Manual",
      manual: {
        app_id: report.appId,
        vm_uuid: null,
        cvm_name: null,
        reason: "unknown_app",
        detail: `the app could not be observed${why}: nothing is done while its state is unknown`
      }
    }]
  }
  return report.drifts.map((drift) => decideDrift(report, drift, options))
}

export interface ActionPlan {
  readonly actions: ReadonlyArray<Action>
  readonly waits: ReadonlyArray<Wait>
  readonly manual: ReadonlyArray<Manual>
}

/** The decisions of a whole fleet, split by kind. */
export const fleetActions = (reports: ReadonlyArray<AppReport>, options: ActionOptions): ActionPlan => {
  const decisions = reports.flatMap((report) => planActions(report, options))
  return {
    actions: decisions.flatMap((d) => (d._tag === "Act" ? [d.action] : [])),
    waits: decisions.flatMap((d) => (d._tag === "Wait" ? [d.wait] : [])),
    manual: decisions.flatMap((d) => (d._tag === "Manual" ? [d.manual] : []))
  }
}

/** "2 to start, 1 to shut down, 3 need a person": the counts that are not zero, or "nothing to do". */
export const actionCounts = (plan: ActionPlan): string => {
  const starts = plan.actions.filter((a) => a.action === "start").length
  const shutdowns = plan.actions.filter((a) => a.action === "shutdown").length
  const stops = plan.actions.filter((a) => a.action === "stop").length
  const parts = [
    starts > 0 ? `${starts} to start` : null,
    shutdowns > 0 ? `${shutdowns} to shut down` : null,
    stops > 0 ? `${stops} to stop (forced)` : null,
    plan.waits.length > 0 ? `${plan.waits.length} settling` : null,
    plan.manual.length > 0 ? `${plan.manual.length} ${plan.manual.length === 1 ? "needs" : "need"} a person` : null
  ].filter((p): p is string => p !== null)
  return parts.length === 0 ? "nothing to do" : parts.join(", ")
}
