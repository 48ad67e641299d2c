import { formatReplicaRange } from "../Domain/ReplicaRange.js"
import type { AppReport, CvmReport, Drift, Snapshot, UnmanagedApp } from "../Domain/Report.js"
import { summarize } from "../Domain/Report.js"
import { actionCounts, type Decision, decideDrift, fleetActions } from "./Actions.js"

export interface TextOptions {
  readonly color: boolean
  /** Shutdowns shown as forced stops, as `apply --force` would do them. */
  readonly force?: boolean
}

type Paint = (code: number, text: string) => string

const painter = (color: boolean): Paint => (code, text) => (color ? `\u001b[${code}m${text}\u001b[0m` : text)

const RED = 31
const GREEN = 32
const YELLOW = 33
const MAGENTA = 35
const CYAN = 36
const BOLD = 1
const DIM = 2

const value = (v: string | number | null): string => (v === null ? "(none)" : typeof v === "number" ? String(v) : JSON.stringify(v))

const cvmLabel = (name: string, vmUuid: string | null): string =>
  `cvm ${JSON.stringify(name)}${vmUuid === null ? "" : ` (${vmUuid})`}`

const cvmKeyOf = (vmUuid: string | null, name: string): string => `${vmUuid ?? ""}\u0000${name}`

const alignedLines = (rows: ReadonlyArray<readonly [string, string]>, indent: string, paint: Paint): ReadonlyArray<string> => {
  const width = Math.max(0, ...rows.map(([k]) => k.length))
  return rows.map(([key, rest]) => `${indent}${paint(YELLOW, "~")} ${key.padEnd(width)} = ${rest}`)
}

/** What `apply` does about a drift, as a comment after it in the manner of terraform's `# forces replacement`. */
const marker = (decision: Decision, paint: Paint): string => {
  switch (decision._tag) {
    case "Act": {
      const verb = decision.action.action === "start"
        ? "start"
        : decision.action.action === "shutdown"
        ? "shut down"
        : "stop (forced)"
      return `  ${paint(CYAN, `# apply: ${verb}`)}`
    }
    case "Wait":
      return `  ${paint(DIM, "# settling, no action")}`
    case "Manual":
      return `  ${paint(MAGENTA, "# needs a person")}`
  }
}

const manualMarker = (paint: Paint): string => `  ${paint(MAGENTA, "# needs a person")}`

const cvmDriftRow = (app: AppReport, drift: Drift, options: ActionFlags, paint: Paint): readonly [string, string] | null => {
  const note = marker(decideDrift(app, drift, options), paint)
  switch (drift.kind) {
    case "status":
      return ["status", `${value(drift.desired)} -> ${value(drift.actual)} (${drift.health})${note}`]
    case "attribute":
      return [drift.field, `${value(drift.desired)} -> ${value(drift.actual)}${note}`]
    default:
      return null
  }
}

interface ActionFlags {
  readonly force: boolean
}

const renderCvm = (
  app: AppReport,
  cvm: CvmReport,
  drifts: ReadonlyArray<Drift>,
  options: ActionFlags,
  paint: Paint
): ReadonlyArray<string> => {
  const rows = drifts.flatMap((d) => {
    const row = cvmDriftRow(app, d, options, paint)
    return row === null ? [] : [row]
  })
  if (rows.length === 0) return [`    ${paint(GREEN, "✓")} ${cvmLabel(cvm.name, cvm.vmUuid)} ${paint(DIM, cvm.status)}`]
  return [`    ${paint(YELLOW, "~")} ${cvmLabel(cvm.name, cvm.vmUuid)}`, ...alignedLines(rows, "        ", paint)]
}

const cvmDriftsOf = (app: AppReport, cvm: CvmReport): ReadonlyArray<Drift> =>
  app.drifts.filter((d) =>
    (d.kind === "status" || d.kind === "attribute") && cvmKeyOf(d.vmUuid, d.cvmName) === cvmKeyOf(cvm.vmUuid, cvm.name)
  )

const header = (app: AppReport): string => `app ${JSON.stringify(app.name)} (${app.appId})`

const renderApp = (app: AppReport, options: ActionFlags, paint: Paint): ReadonlyArray<string> => {
  switch (app.sync) {
    case "unknown": {
      const e = app.error
      // the message already names the HTTP status when there was one
      const detail = e === null ? "" : `: ${e.reason}: ${e.message}`
      return [`${paint(MAGENTA, "?")} ${paint(BOLD, header(app))} could not be observed${detail}${manualMarker(paint)}`]
    }
    case "in_sync": {
      const n = app.observed?.replicas ?? 0
      return [
        `${paint(GREEN, "✓")} ${paint(BOLD, header(app))} is in sync ${
          paint(DIM, `(${n} ${n === 1 ? "cvm" : "cvms"} ${app.desired.status})`)
        }`
      ]
    }
    case "out_of_sync": {
      if (app.drifts.some((d) => d.kind === "missing_app")) {
        return [
          `${paint(RED, "-")} ${paint(BOLD, header(app))} is missing`,
          `    ${paint(RED, "-")} app = "present" -> "absent" (HTTP 404)${manualMarker(paint)}`
        ]
      }
      const lines = [`${paint(YELLOW, "~")} ${paint(BOLD, header(app))} is out of sync`]
      const replicas = app.drifts.find((d) => d.kind === "replicas")
      if (replicas !== undefined && replicas.kind === "replicas") {
        lines.push(
          ...alignedLines([["replicas", `${formatReplicaRange(replicas.desired)} -> ${replicas.actual}${manualMarker(paint)}`]], "    ", paint)
        )
      }
      for (const cvm of app.cvms) lines.push(...renderCvm(app, cvm, cvmDriftsOf(app, cvm), options, paint))
      return lines
    }
  }
}

const renderUnmanaged = (app: UnmanagedApp, paint: Paint): string => {
  const statuses = Object.entries(app.statuses).map(([status, n]) => `${n} ${status}`).join(", ")
  const cvms = app.replicas === null ? "cvms not listed" : `${app.replicas} ${app.replicas === 1 ? "cvm" : "cvms"}${statuses === "" ? "" : `: ${statuses}`}`
  return `${paint(GREEN, "+")} ${paint(BOLD, `app ${JSON.stringify(app.name)} (${app.appId})`)} exists but is not declared ${paint(DIM, `(${cvms})`)}`
}

/** A plan in the manner of `terraform plan`: one block per app, desired -> actual, then a summary line. */
export const planText = (snapshot: Snapshot, options: TextOptions): string => {
  const paint = painter(options.color)
  const flags: ActionFlags = { force: options.force ?? false }
  const s = summarize(snapshot.apps)
  const unmanaged = snapshot.unmanaged ?? []
  const blocks = [
    ...snapshot.apps.map((app) => renderApp(app, flags, paint).join("\n")),
    ...unmanaged.map((app) => renderUnmanaged(app, paint))
  ]
  const legend = [
    `phala-drift plan, generated ${snapshot.generatedAt.toISOString()}`,
    `Values are shown as desired -> actual. Symbols: ${paint(YELLOW, "~")} out of sync, ${
      paint(RED, "-")
    } missing, ${paint(MAGENTA, "?")} unknown, ${paint(GREEN, "✓")} in sync${
      snapshot.unmanaged === undefined ? "" : `, ${paint(GREEN, "+")} exists but is not declared`
    }.`
  ]
  const verdict = s.out_of_sync > 0
    ? "Drift detected."
    : unmanaged.length > 0
    ? "Drift detected: apps run that the desired state does not declare."
    : s.unknown > 0
    ? "No drift found, but some apps could not be observed."
    : s.apps === 0
    ? "No apps declared."
    : "No drift. Every app matches its desired state."
  const summaryLine = `Plan: ${s.in_sync} in sync, ${s.out_of_sync} out of sync, ${s.unknown} unknown, ${s.drifts} ${
    s.drifts === 1 ? "drift" : "drifts"
  } (${s.apps} ${s.apps === 1 ? "app" : "apps"})${snapshot.unmanaged === undefined ? "" : `, ${unmanaged.length} unmanaged`}.`
  const footer = `Plan: ${actionCounts(fleetActions(snapshot.apps, flags))}.`
  return [...legend, "", ...blocks.flatMap((b) => [b, ""]), paint(BOLD, verdict), summaryLine, paint(BOLD, footer), ""].join("\n")
}
