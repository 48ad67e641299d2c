/**
 * A synthetic fleet of a few hundred apps from the simulator's generator (plus pinned, minimal and forbidden apps),
 * its CVMs spread over every status, read with the official SDK: every list page at two page sizes and every app.
 */
import { safeGetAppInfo, safeGetAppList } from "@phala/cloud"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { syntheticApps } from "../../src/Simulator/Simulator.js"
import { type Simulator, startSimulator, stopAll, writeTemp } from "../e2e/support/harness.js"
import { describeFailure, freshWorld, type SimApp, sdkClient, sdkVersions, setStatus } from "./support/conformance.js"

afterAll(stopAll)

const KEY = "phak_conformance_fleet_0123"
const synthetic = { apps: 300, cvms_per_app: 2, seed: 42, name_prefix: "fleet-app" }
const statuses = ["running", "stopped", "exited", "error", "starting", "stopping", "restarting", "shutting_down", "provisioning"]

const scenario = `
api_keys: [${KEY}]
default_version: "2025-10-28"
seed: 9
apps:
  - { name: head-current, version: "2026-01-21", cvms: [{ name: head-current-0 }] }
  - { name: head-newest, version: "2026-05-22", cvms: [{ name: head-newest-0 }, { name: head-newest-1 }] }
  - { name: head-ghost, shape: minimal }
  - { name: head-foreign, forbidden: true, cvms: [{ name: head-foreign-0 }] }
synthetic: ${JSON.stringify(synthetic)}
`

describe(`synthetic fleet of ${synthetic.apps} apps with ${synthetic.cvms_per_app} CVMs each`, () => {
  let sim: Simulator

  beforeAll(async () => {
    sim = await startSimulator(writeTemp("fleet.scenario.yaml", scenario))
  })

  /** The scenario as loaded, then every seventh CVM moved to the next status of the list. */
  const varied = async (): Promise<ReadonlyArray<SimApp>> => {
    const apps = await freshWorld(sim)
    const cvms = apps.filter((a) => !a.forbidden).flatMap((app) => app.cvms.map((cvm) => ({ app, cvm })))
    for (const [i, { app, cvm }] of cvms.entries()) {
      if (i % 7 === 0) await setStatus(sim, app, cvm, statuses[(i / 7) % statuses.length] ?? "running")
    }
    return apps
  }

  it("the generator's apps are the ones the simulator serves", async () => {
    const apps = await freshWorld(sim)
    expect(apps.slice(4).map((a) => a.app_id)).toEqual(syntheticApps(synthetic).map((a) => a.app_id))
  })

  it.each(sdkVersions)("getAppList (%s): every page at page sizes 100 and 37 parses, and together they list the fleet once", async (version) => {
    const listed = (await varied()).filter((a) => !a.forbidden).map((a) => a.app_id)
    const client = sdkClient(sim, version, KEY)
    const failures: Array<string> = []
    for (const pageSize of [100, 37]) {
      const seen: Array<string> = []
      for (let page = 1; page <= Math.ceil(listed.length / pageSize); page++) {
        const result = await safeGetAppList(client, { page, page_size: pageSize })
        if (result.success) seen.push(...result.data.dstack_apps.map((a) => a.app_id))
        else failures.push(`page ${page} of size ${pageSize}: ${describeFailure(result.error)}`)
      }
      expect(failures, `the SDK rejected fleet pages in ${version}`).toEqual([])
      expect(seen).toEqual(listed)
    }
  })

  it.each(sdkVersions)("getAppInfo (%s) parses every app not pinned to another version", async (version) => {
    const apps = (await varied()).filter((a) => !a.forbidden && (a.version === null || a.version === version))
    const client = sdkClient(sim, version, KEY)
    const failures: Array<string> = []
    for (const app of apps) {
      const result = await safeGetAppInfo(client, { appId: app.app_id })
      if (!result.success) failures.push(`${app.name}: ${describeFailure(result.error)}`)
    }
    expect(failures, `the SDK rejected fleet apps in ${version}`).toEqual([])
    expect(apps.length).toBeGreaterThanOrEqual(synthetic.apps)
  })
})
