import { Duration } from "effect"
import type { Alert, AlertEvent, AlertName, FiringAlert, PendingAlert } from "../Domain/Alert.js"
import type { DesiredApp } from "../Domain/App.js"
import type { AppReport, Drift, Snapshot, UnmanagedApp } from "../Domain/Report.js"
import type { Text } from "./Annotations.js"
import type { FailedRemediation } from "../Remediation.js"
import {
  attributeText,
  missingText,
  planUrl,
  remediationFailedText,
  replicasText,
  statusText,
  unmanagedText,
  unobservableText
} from "./Annotations.js"
import { fingerprint } from "./Fingerprint.js"
import { inMaintenance } from "./Routing.js"

/** How long a resolved alert stays in the map (and is re-sent) after it resolved, as in Prometheus. */
export const resolvedRetention = Duration.minutes(15)
const retentionMs = Duration.toMillis(resolvedRetention)

/** One alert condition that holds in this snapshot. */
export interface Condition {
  readonly fingerprint: string
  readonly name: AlertName
  readonly labels: Readonly<Record<string, string>>
  readonly annotations: Readonly<Record<string, string>>
  /** Fires as soon as it holds, whatever the app's `for` (the condition itself already waited). */
  readonly immediate?: boolean
}

const condition = (
  report: AppReport,
  name: AlertName,
  text: Text,
  externalUrl: string,
  cvm?: { readonly vmUuid: string | null; readonly cvmName: string }
): Condition => {
  const labels: Record<string, string> = {
    ...report.desired.labels,
    alertname: name,
    severity: report.desired.severity,
    app_id: report.appId,
    app_name: report.name
  }
  if (cvm !== undefined) {
    // An absent uuid is left out rather than sent empty: Alertmanager treats both alike, and the name still identifies.
    if (cvm.vmUuid !== null) labels["vm_uuid"] = cvm.vmUuid
    labels["cvm_name"] = cvm.cvmName
  }
  return {
    fingerprint: fingerprint(labels),
    name,
    labels,
    annotations: { summary: text.summary, description: text.description, plan_url: planUrl(externalUrl, report) }
  }
}

/**
 * `PhalaAppUnmanaged` has no app config to take `severity` and `for` from: a fixed `warning`, and 10 minutes so an
 * app being created and declared in the same deploy does not page (the same as deploy/prometheus/alerts.yml).
 */
export const unmanagedSeverity = "warning"
export const unmanagedFor = Duration.minutes(10)

export const unmanagedCondition = (unmanaged: UnmanagedApp, externalUrl: string): Condition => {
  const labels = { alertname: "PhalaAppUnmanaged", severity: unmanagedSeverity, app_id: unmanaged.appId, app_name: unmanaged.name }
  const text = unmanagedText(unmanaged)
  return {
    fingerprint: fingerprint(labels),
    name: "PhalaAppUnmanaged",
    labels,
    annotations: { summary: text.summary, description: text.description, plan_url: `${externalUrl.replace(/\/+$/, "")}/#unmanaged` }
  }
}

type AttributeDrift = Extract<Drift, { readonly kind: "attribute" }>

/**
 * The conditions that hold for one app report; an `unknown` app yields only `PhalaAppUnobservable`.
 * `remediationFailed`: CVMs of this app on which self-healing gave up (`PhalaRemediationFailed`).
 */
export const conditionsOf = (
  report: AppReport,
  externalUrl: string,
  remediationFailed: ReadonlyArray<FailedRemediation> = []
): ReadonlyArray<Condition> => {
  if (report.sync === "unknown") {
    return [condition(report, "PhalaAppUnobservable", unobservableText(report), externalUrl)]
  }
  const out: Array<Condition> = []
  for (const failed of remediationFailed) {
    if (failed.appId !== report.appId) continue
    const c = condition(report, "PhalaRemediationFailed", remediationFailedText(report, failed), externalUrl, failed)
    out.push({ ...c, immediate: true })
  }
  const attributes = new Map<string, Array<AttributeDrift>>()
  for (const drift of report.drifts) {
    switch (drift.kind) {
      case "missing_app":
        out.push(condition(report, "PhalaAppMissing", missingText(report), externalUrl))
        break
      case "replicas":
        out.push(condition(report, "PhalaAppReplicasMismatch", replicasText(report, drift.desired, drift.actual), externalUrl))
        break
      case "status":
        out.push(condition(report, "PhalaCvmStatusDrift", statusText(report, drift), externalUrl, drift))
        break
      case "attribute": {
        const key = JSON.stringify([drift.vmUuid, drift.cvmName])
        const group = attributes.get(key)
        if (group === undefined) attributes.set(key, [drift])
        else group.push(drift)
        break
      }
    }
  }
  for (const group of attributes.values()) {
    const first = group[0]
    if (first !== undefined) {
      out.push(condition(report, "PhalaCvmAttributeDrift", attributeText(report, group), externalUrl, first))
    }
  }
  // Two CVMs the API reports with the same name and no uuid share an identity: one alert, not a duplicate key.
  const seen = new Set<string>()
  return out.filter((c) => (seen.has(c.fingerprint) ? false : (seen.add(c.fingerprint), true)))
}

const active = (previous: Alert | undefined, c: Condition, app: Pick<DesiredApp, "for">, now: number): Alert => {
  if (previous !== undefined && previous.state === "firing") {
    return { ...previous, labels: c.labels, annotations: c.annotations, lastActiveAt: now }
  }
  // a new episode, or one still pending (a resolved alert whose condition is back starts a new one)
  const pending: PendingAlert = previous !== undefined && previous.state === "pending"
    ? { ...previous, labels: c.labels, annotations: c.annotations, lastActiveAt: now }
    : {
      fingerprint: c.fingerprint,
      name: c.name,
      labels: c.labels,
      annotations: c.annotations,
      state: "pending",
      activeAt: now,
      firedAt: null,
      lastActiveAt: now,
      resolvedAt: null,
      silenced: false,
      announced: false
    }
  const holdMs = c.immediate === true ? 0 : Duration.toMillis(app.for)
  return now - pending.activeAt >= holdMs ? { ...pending, state: "firing", firedAt: now } : pending
}

const inactive = (previous: Alert, keepFiringFor: Duration.Duration | null, now: number): Alert | null => {
  switch (previous.state) {
    case "pending":
      return null
    case "firing":
      return keepFiringFor !== null && now - previous.lastActiveAt < Duration.toMillis(keepFiringFor)
        ? previous
        : { ...previous, state: "resolved", resolvedAt: now }
    case "resolved":
      return retained(previous, now)
  }
}

const retained = (alert: Alert, now: number): Alert | null =>
  alert.state === "resolved" && now - alert.resolvedAt >= retentionMs ? null : alert

export interface EvaluateInput {
  readonly snapshot: Snapshot
  /** The previous evaluation's alerts, by fingerprint. */
  readonly previous: ReadonlyMap<string, Alert>
  /** Epoch ms. */
  readonly now: number
  /** Base URL of the daemon for `plan_url`, see `resolveExternalUrl`. */
  readonly externalUrl: string
  /** CVMs on which self-healing gave up (from the last remediation round). */
  readonly remediationFailed?: ReadonlyArray<FailedRemediation>
}

export interface Evaluation {
  /** Pending, firing, and resolved-within-retention alerts, by fingerprint. */
  readonly alerts: ReadonlyMap<string, Alert>
  /** What receivers must be told, in order. */
  readonly events: ReadonlyArray<AlertEvent>
}

/**
 * One evaluation of every alert rule against a snapshot. Pure: the clock is `now`.
 *
 * - A condition newly true is `pending`; it fires once it has been true for the app's `for` (at once for `for: 0`).
 *   A pending alert whose condition clears is dropped without an event.
 * - A firing alert whose condition clears stays firing while `keep_firing_for` has not elapsed since it was last
 *   seen true, then resolves. Resolved alerts stay for `resolvedRetention`; a condition back in that time starts
 *   a new episode.
 * - While an app is `unknown` its drift alerts are held exactly as they were (a pending one does not fire: nothing
 *   was observed); `PhalaAppUnobservable` runs its own timer. Alerts of an app gone from the snapshot resolve.
 * - Maintenance: while an app is in a window its alerts are `silenced` and no `firing` event is emitted for them;
 *   an alert still firing when the window ends is announced then. A resolution is emitted only for an announced
 *   alert, also during maintenance, so receivers never keep a stale firing alert.
 */
export const evaluate = (input: EvaluateInput): Evaluation => {
  const { now, previous, snapshot } = input
  const step = makeStep(input.externalUrl, now, previous, input.remediationFailed ?? [])

  const byApp = new Map<string, Array<Alert>>()
  for (const alert of previous.values()) {
    const appId = alert.labels["app_id"] ?? ""
    const list = byApp.get(appId)
    if (list === undefined) byApp.set(appId, [alert])
    else list.push(alert)
  }
  for (const report of snapshot.apps) step.report(report, byApp.get(report.appId) ?? [])

  for (const unmanaged of snapshot.unmanaged ?? []) {
    const c = unmanagedCondition(unmanaged, input.externalUrl)
    const before = previous.get(c.fingerprint)
    step.handled.add(c.fingerprint)
    step.settle(before, active(before, c, { for: unmanagedFor }, now), false)
  }

  // The app left the config (or this shard): nothing will ever clear these, so they resolve now. An unmanaged app
  // no longer reported (declared, ignored, gone) resolves the same way.
  for (const alert of previous.values()) {
    if (!step.handled.has(alert.fingerprint)) step.settle(alert, inactive(alert, null, now), false)
  }

  return { alerts: step.next, events: step.events }
}

export interface EvaluateAppInput extends Omit<EvaluateInput, "snapshot"> {
  /** One app's new report, published between cycles (a webhook's re-read). */
  readonly report: AppReport
}

/**
 * `evaluate` for one app's new report: that app's alerts move exactly as a snapshot holding the report would move
 * them; every other alert is carried over untouched (their apps were not observed again). Costs the app's alerts
 * plus a pass over the active ones, not the fleet.
 */
export const evaluateApp = (input: EvaluateAppInput): Evaluation => {
  const { now, previous, report } = input
  const own: Array<Alert> = []
  const step = makeStep(input.externalUrl, now, previous, input.remediationFailed ?? [])
  for (const alert of previous.values()) {
    if (alert.labels["app_id"] === report.appId) own.push(alert)
    else step.next.set(alert.fingerprint, alert)
  }
  step.report(report, own)
  return { alerts: step.next, events: step.events }
}

/** The evaluation of reports one at a time into `next` and `events`. */
const makeStep = (
  externalUrl: string,
  now: number,
  previous: ReadonlyMap<string, Alert>,
  remediationFailed: ReadonlyArray<FailedRemediation>
) => {
  const next = new Map<string, Alert>()
  const events: Array<AlertEvent> = []
  const handled = new Set<string>()

  const settle = (before: Alert | undefined, after: Alert | null, silenced: boolean): void => {
    if (after === null) return
    const alert: Alert = after.silenced === silenced ? after : { ...after, silenced }
    if (alert.state === "firing" && !alert.announced && !silenced) {
      const announced: FiringAlert = { ...alert, announced: true }
      events.push({ kind: "firing", alert: announced, at: now })
      next.set(announced.fingerprint, announced)
      return
    }
    if (alert.state === "resolved" && before?.state === "firing" && alert.announced) {
      events.push({ kind: "resolved", alert, at: now })
    }
    next.set(alert.fingerprint, alert)
  }

  /** One app's report, with the previous alerts that carry its `app_id`. */
  const report = (report: AppReport, own: ReadonlyArray<Alert>): void => {
    const silenced = inMaintenance(report.desired, now)
    if (report.sync === "unknown") {
      for (const alert of own) {
        if (alert.name === "PhalaAppUnobservable") continue
        handled.add(alert.fingerprint)
        settle(alert, retained(alert, now), silenced)
      }
    }
    for (const c of conditionsOf(report, externalUrl, remediationFailed)) {
      const before = previous.get(c.fingerprint)
      handled.add(c.fingerprint)
      settle(before, active(before, c, report.desired, now), silenced)
    }
    for (const alert of own) {
      if (handled.has(alert.fingerprint)) continue
      handled.add(alert.fingerprint)
      settle(alert, inactive(alert, report.desired.keepFiringFor, now), silenced)
    }
  }

  return { next, events, handled, settle, report }
}
