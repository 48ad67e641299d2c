/** Synthetic fleets of reports for metric and status page tests: deterministic ids, names and CVMs. */
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import type { AppReport } from "../../src/Core/Domain/Report.js"
import { FetchFailure, Observation } from "../../src/Core/Domain/Observation.js"
import { diffApp } from "../../src/Core/Diff.js"
import { cvm, desiredApp, observedApp } from "./builders.js"

export const appIdOf = (i: number): string => i.toString(16).padStart(40, "0")

/** App `i`: in sync with two running CVMs unless `variant` says otherwise. */
export const fleetApp = (
  i: number,
  variant: "in_sync" | "stopped" | "missing" | "unknown" | "extra" = "in_sync",
  name = `app-${String(i).padStart(5, "0")}`
): AppReport => {
  const appId = appIdOf(i)
  const desired = desiredApp({ appId, name, labels: { team: `team-${i % 7}` } })
  const cvms = [0, 1].map((j) =>
    cvm({ vmUuid: `${appId.slice(-8)}-0000-4000-8000-00000000000${j}`, name: `${name}-${j}`, node: `prod${5 + ((i + j) % 5)}` })
  )
  switch (variant) {
    case "in_sync":
      return diffApp(desired, Observation.found(observedApp(cvms, { appId })))
    case "stopped":
      return diffApp(desired, Observation.found(observedApp([cvms[0] ?? cvm(), cvm({ ...cvms[1], status: "stopped" })], { appId })))
    case "extra":
      return diffApp(desired, Observation.found(observedApp([...cvms, cvm({ vmUuid: `${appId.slice(-8)}-extra`, name: `${name}-2` })], { appId })))
    case "missing":
      return diffApp(desired, Observation.notFound)
    case "unknown":
      return diffApp(desired, Observation.failed(new FetchFailure({ appId, reason: "timeout", status: null, message: "timed out" })))
  }
}

export const fleetSnapshot = (seconds: number, apps: ReadonlyArray<AppReport>): Snapshot => ({
  generatedAt: new Date(seconds * 1000),
  apps
})
