import type { AttributeKey, ServerSettings } from "../Domain/App.js"
import { formatHostPort } from "../Domain/ListenAddress.js"
import { formatReplicaRange, type ReplicaRange } from "../Domain/ReplicaRange.js"
import type { AppReport, Drift, UnmanagedApp } from "../Domain/Report.js"

type StatusDrift = Extract<Drift, { readonly kind: "status" }>
type AttributeDrift = Extract<Drift, { readonly kind: "attribute" }>

/** Base URL for links in alerts: `alerting.external_url`, else the listen address (a wildcard host becomes localhost). */
export const resolveExternalUrl = (externalUrl: string | null, server: Pick<ServerSettings, "host" | "port">): string => {
  if (externalUrl !== null) return externalUrl.replace(/\/+$/, "")
  const host = server.host === "0.0.0.0" || server.host === "::" || server.host === "" ? "localhost" : server.host
  return `http://${formatHostPort(host, server.port)}`
}

/**
 * Where an alert's link lands (`plan_url`, and Alertmanager's `generatorURL`): the status page showing just this app,
 * scrolled to its row (`GET /?app=<id>#app-<id>`, see `Http/StatusPage.ts`), with its drift and a link to the plan.
 */
export const planUrl = (externalUrl: string, report: AppReport): string => {
  const id = encodeURIComponent(report.appId)
  return `${externalUrl.replace(/\/+$/, "")}/?app=${id}#app-${id}`
}

const app = (report: AppReport): string => `app ${report.name} (${report.appId})`
const cvm = (c: { readonly cvmName: string; readonly vmUuid: string | null }): string =>
  c.vmUuid === null ? `CVM ${c.cvmName}` : `CVM ${c.cvmName} (${c.vmUuid})`
const capital = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1)

const cvms = (n: number): string => (n === 1 ? "1 CVM" : `${n} CVMs`)

export interface Text {
  readonly summary: string
  readonly description: string
}

export const missingText = (report: AppReport): Text => ({
  summary: `App ${report.name} is missing from Phala Cloud`,
  description: `${capital(app(report))} is absent (the API answers 404), desired present`
})

export const replicasText = (report: AppReport, desired: ReplicaRange, actual: number): Text => ({
  summary: `App ${report.name} has ${cvms(actual)}, desired ${formatReplicaRange(desired)}`,
  description: `${capital(app(report))} has ${cvms(actual)}, desired ${formatReplicaRange(desired)}`
})

export const statusText = (report: AppReport, drift: StatusDrift): Text => ({
  summary: `CVM ${drift.cvmName} of ${report.name} is ${drift.actual}, desired ${drift.desired}`,
  description:
    `${cvm(drift)} of ${app(report)} is ${drift.actual}, desired ${drift.desired} (health ${drift.health})`
})

const value = (v: string | number | null): string => (v === null ? "not reported" : String(v))

export const attributeText = (report: AppReport, drifts: ReadonlyArray<AttributeDrift>): Text => {
  const first = drifts[0]
  const fields: ReadonlyArray<AttributeKey> = drifts.map((d) => d.field)
  const name = first?.cvmName ?? ""
  return {
    summary: `CVM ${name} of ${report.name} differs in ${fields.join(", ")}`,
    description: `${first === undefined ? "A CVM" : cvm(first)} of ${app(report)} differs from its desired attributes: ${
      drifts.map((d) => `${d.field} ${value(d.desired)} → ${value(d.actual)}`).join("; ")
    }`
  }
}

export const unobservableText = (report: AppReport): Text => {
  const error = report.error
  const reason = error === null ? "unknown" : error.reason
  const status = error?.status == null ? "" : ` (HTTP ${error.status})`
  const message = error === null || error.message === "" ? "" : `: ${error.message}`
  return {
    summary: `App ${report.name} cannot be observed (${reason})`,
    description: `${capital(app(report))} cannot be observed: ${reason}${status}${message}. ` +
      "Its drift alerts keep their state until it is observed again."
  }
}

export const remediationFailedText = (
  report: AppReport,
  failed: { readonly cvmName: string; readonly vmUuid: string; readonly attempts: number }
): Text => ({
  summary: `Self-healing gave up on CVM ${failed.cvmName} of ${report.name} after ${failed.attempts} attempts`,
  description: `${capital(cvm(failed))} of ${app(report)} is still drifting after ${failed.attempts} self-healing ` +
    "actions in this incident (remediation.max_attempts); no more actions are taken until the drift clears. " +
    "See GET /api/v1/actions."
})

/** An app that runs in the workspace but is not declared (`discovery.unmanaged: report`). */
export const unmanagedText = (unmanaged: UnmanagedApp): Text => ({
  summary: `App ${unmanaged.name} runs but is not declared`,
  // word for word the Prometheus rule's (deploy/prometheus/alerts.yml), so both paths notify alike
  description: `App ${unmanaged.name} (${unmanaged.appId}) exists in the workspace but the desired state does not ` +
    "declare it: declare it (phala-drift import) or add it to discovery.ignore."
})
