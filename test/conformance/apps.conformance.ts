/**
 * Every app of every bundled scenario, read with the official SDK in every API version it supports: `getAppInfo`
 * per app, `getAppList` page by page at several page sizes. The SDK parses with its own zod schemas.
 */
import { AuthError, safeGetAppInfo, safeGetAppList } from "@phala/cloud"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { stopAll } from "../e2e/support/harness.js"
import { bundledScenarios, describeFailure, freshWorld, sdkClient, sdkVersions, simulatorFor } from "./support/conformance.js"

afterAll(stopAll)

const pageSizes = [1, 7, 20, 100]

/** Every page and the empty one after the last; for long lists the first, middle and last pages. */
const pagesToRead = (totalPages: number): ReadonlyArray<number> => {
  const all = Array.from({ length: totalPages + 1 }, (_, i) => i + 1)
  if (totalPages <= 50) return all
  const middle = Math.ceil(totalPages / 2)
  return [1, 2, 3, middle, totalPages - 1, totalPages, totalPages + 1]
}

describe.each(bundledScenarios)("scenario %s", (path) => {
  const running = simulatorFor(path)

  it.each(sdkVersions)("getAppInfo (%s) parses every app not pinned to another version; forbidden apps are AuthError 403", async (version) => {
    const { sim, key } = running()
    const apps = await freshWorld(sim)
    const client = sdkClient(sim, version, key)
    const failures: Array<string> = []
    let parsed = 0
    for (const app of apps) {
      if (app.version !== null && app.version !== version) continue
      const result = await safeGetAppInfo(client, { appId: app.app_id })
      if (app.forbidden) {
        if (result.success || !(result.error instanceof AuthError) || result.error.status !== 403) {
          failures.push(`${app.name} (forbidden): expected AuthError 403, got ${result.success ? "200" : describeFailure(result.error)}`)
        }
        continue
      }
      if (!result.success) {
        failures.push(`${app.name}: ${describeFailure(result.error)}`)
        continue
      }
      parsed++
      if (app.shape === "minimal") {
        expect(result.data).toMatchObject({ app_id: app.app_id })
        expect(result.data.cvms ?? null).toBeNull()
      } else {
        expect(result.data).toMatchObject({ app_id: app.app_id, id: app.id, name: app.name, cvm_count: app.cvms.length })
        expect((result.data.cvms ?? []).map((c) => c.vm_uuid)).toEqual(app.cvms.map((c) => c.vm_uuid))
      }
    }
    expect(failures, `the SDK rejected answers of ${path} in ${version}`).toEqual([])
    expect(parsed).toBeGreaterThan(0)
  })

  it.each(sdkVersions)("getAppList (%s) parses every page at page sizes 1, 7, 20 and 100, in the world's order", async (version) => {
    const { sim, key } = running()
    const apps = await freshWorld(sim)
    const listed = apps.filter((a) => !a.forbidden).map((a) => a.app_id)
    const client = sdkClient(sim, version, key)
    const failures: Array<string> = []
    let pages = 0
    for (const pageSize of pageSizes) {
      const totalPages = Math.ceil(listed.length / pageSize)
      for (const page of pagesToRead(totalPages)) {
        const result = await safeGetAppList(client, { page, page_size: pageSize })
        if (!result.success) {
          failures.push(`page ${page} of size ${pageSize}: ${describeFailure(result.error)}`)
          continue
        }
        pages++
        expect(result.data).toMatchObject({ page, page_size: pageSize, total: listed.length, total_pages: totalPages })
        expect(result.data.dstack_apps.map((a) => a.app_id)).toEqual(listed.slice((page - 1) * pageSize, page * pageSize))
      }
    }
    expect(failures, `the SDK rejected list pages of ${path} in ${version}`).toEqual([])
    expect(pages).toBeGreaterThan(pageSizes.length)
  })
})

describe("getAppList filters as the SDK encodes them (test/conformance/scenarios/edges.yaml)", () => {
  const SCENARIO = join("test", "conformance", "scenarios", "edges.yaml")
  const running = simulatorFor(SCENARIO)

  // an app matches when one of its CVMs does (each filter here names one CVM); forbidden apps are never listed
  const filters = [
    { filter: { status: ["exited", "error"] }, names: ["status-zoo"] },
    { filter: { listed: true }, names: ["replicas"] },
    { filter: { search: "ZOO" }, names: ["status-zoo"] },
    { filter: { node: "prod10" }, names: ["replicas"] },
    { filter: { base_image: "dstack-dev-0.5.7", listed: false }, names: ["replicas"] },
    { filter: { region: "AP-EAST-1", instance_type: "custom.huge" }, names: ["replicas"] },
    { filter: { kms_type: "ethereum" }, names: ["single-ethereum"] },
    { filter: { kms_slug: "kms-base-prod10", instance_type: "h200.small" }, names: ["replicas"] },
    { filter: { search: "no-such-app" }, names: [] }
  ]

  it.each(sdkVersions)("%s: repeated status keys, booleans and the other filters select what they say", async (version) => {
    const { sim, key } = running()
    await freshWorld(sim)
    const client = sdkClient(sim, version, key)
    for (const { filter, names } of filters) {
      const result = await safeGetAppList(client, filter)
      expect(result.success ? result.data.dstack_apps.map((a) => a.name) : describeFailure(result.error), JSON.stringify(filter)).toEqual(names)
    }
  })
})
