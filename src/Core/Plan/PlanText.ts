import { formatReplicaRange } from "../Domain/ReplicaRange.js"
import type { AppReport, CvmReport, Drift, Snapshot, UnmanagedApp } from "../Domain/Report.js"
import { summarize } from "../Domain/Report.js"

export interface TextOptions {
  readonly color: boolean
}

type Paint = (code: number, text: string) => string

const painter = (color: boolean): Paint => (code, text) => (color ? `\u001b[${code}m${text}\u001b[0m` : text)

const RED = 31
const GREEN = 32
const YELLOW = 33
const MAGENTA = 35
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

const cvmDriftRow = (drift: Drift): readonly [string, string] | null => {
  switch (drift.kind) {
    case "status":
      return ["status", `${value(drift.desired)} -> ${value(drift.actual)} (${drift.health})`]
    case "attribute":
      return [drift.field, `${value(drift.desired)} -> ${value(drift.actual)}`]
    default:
      return null
  }
}

const renderCvm = (cvm: CvmReport, drifts: ReadonlyArray<Drift>, paint: Paint): ReadonlyArray<string> => {
  const rows = drifts.flatMap((d) => {
    const row = cvmDriftRow(d)
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

const renderApp = (app: AppReport, paint: Paint): ReadonlyArray<string> => {
  switch (app.sync) {
    case "unknown": {
      const e = app.error
      // the message already names the HTTP status when there was one
      const detail = e === null ? "" : `: ${e.reason}: ${e.message}`
      return [`${paint(MAGENTA, "?")} ${paint(BOLD, header(app))} could not be observed${detail}`]
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
          `    ${paint(RED, "-")} app = "present" -> "absent" (HTTP 404)`
        ]
      }
      const lines = [`${paint(YELLOW, "~")} ${paint(BOLD, header(app))} is out of sync`]
      const replicas = app.drifts.find((d) => d.kind === "replicas")
      if (replicas !== undefined && replicas.kind === "replicas") {
        lines.push(...alignedLines([["replicas", `${formatReplicaRange(replicas.desired)} -> ${replicas.actual}`]], "    ", paint))
      }
      for (const cvm of app.cvms) lines.push(...renderCvm(cvm, cvmDriftsOf(app, cvm), paint))
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
  const s = summarize(snapshot.apps)
  const unmanaged = snapshot.unmanaged ?? []
  const blocks = [
    ...snapshot.apps.map((app) => renderApp(app, paint).join("\n")),
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
  return [...legend, "", ...blocks.flatMap((b) => [b, ""]), paint(BOLD, verdict), summaryLine, ""].join("\n")
}
