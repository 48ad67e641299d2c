/**
 * Which API versions the official SDK supports, read from the package at run time: the simulator must serve every
 * one of them (this fails loudly when an SDK upgrade brings a version the simulator does not know yet), and the
 * SDK's `X-Phala-Version` header must reach the simulator as sent. The SDK stays a dev-only dependency.
 */
import { safeGetAppInfo } from "@phala/cloud"
import { Schema } from "effect"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { apiVersions, isApiVersion } from "../../src/Simulator/Catalog.js"
import { ROOT, stopAll } from "../e2e/support/harness.js"
import { admin, freshWorld, readRoot, sdkClient, sdkPackage, sdkVersions, simulatorFor } from "./support/conformance.js"

afterAll(stopAll)

const SCENARIO = join("test", "conformance", "scenarios", "edges.yaml")

describe(`${sdkPackage.name} ${sdkPackage.version}`, () => {
  it(`supports API versions ${sdkVersions.join(", ")}: the simulator serves each of them`, () => {
    const missing = sdkVersions.filter((v) => !isApiVersion(v))
    expect(
      missing,
      `${sdkPackage.name} ${sdkPackage.version} supports ${missing.join(", ")}, which the simulator does not serve ` +
        `(it serves ${apiVersions.join(", ")}): add the version to src/Simulator/Catalog.ts and its shapes to ` +
        `src/Simulator/Responses.ts, as docs/simulator.md ("Conformance") describes`
    ).toEqual([])
    expect(sdkVersions.length).toBeGreaterThan(0)
  })

  describe("the version header", () => {
    const running = simulatorFor(SCENARIO)

    it.each(sdkVersions)("the SDK configured for %s sends it as X-Phala-Version, as the simulator's request log shows", async (version) => {
      const { sim, key } = running()
      const apps = await freshWorld(sim)
      const app = apps.find((a) => a.version === null && !a.forbidden && a.shape === "full")
      if (app === undefined) throw new Error(`${SCENARIO} has no unpinned app`)
      await admin(sim, "DELETE", "/_sim/requests")
      expect((await safeGetAppInfo(sdkClient(sim, version, key), { appId: app.app_id })).success).toBe(true)
      const Log = Schema.Struct({ requests: Schema.Array(Schema.Struct({ x_phala_version: Schema.NullOr(Schema.String) })) })
      const log = Schema.decodeUnknownSync(Log)(await admin(sim, "GET", `/_sim/requests?app_id=${app.app_id}`))
      expect(log.requests.map((r) => r.x_phala_version)).toEqual([version])
    })
  })

  it("is a devDependency pinned to one exact version, never a runtime dependency, and dev-only in the lockfile", () => {
    const Manifest = Schema.Struct({
      dependencies: Schema.Record({ key: Schema.String, value: Schema.String }),
      devDependencies: Schema.Record({ key: Schema.String, value: Schema.String })
    })
    const manifest = Schema.decodeUnknownSync(Manifest)(JSON.parse(readRoot("package.json")))
    expect(manifest.devDependencies[sdkPackage.name]).toBe(sdkPackage.version)
    expect(manifest.dependencies).not.toHaveProperty(sdkPackage.name)
    const sources = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))
    expect(sources.length).toBeGreaterThan(0)
    expect(sources.filter((f) => readRoot(join("src", f)).includes(`"${sdkPackage.name}`))).toEqual([])

    const Lock = Schema.Struct({
      packages: Schema.Record({
        key: Schema.String,
        value: Schema.Struct({
          version: Schema.optional(Schema.String),
          dev: Schema.optional(Schema.Boolean),
          dependencies: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
        })
      })
    })
    const lock = Schema.decodeUnknownSync(Lock)(JSON.parse(readRoot("package-lock.json")))
    const sdk = lock.packages[`node_modules/${sdkPackage.name}`]
    expect(sdk).toMatchObject({ version: sdkPackage.version, dev: true })
    // `npm prune --omit=dev` (the Dockerfile) drops exactly the packages marked dev
    const direct = Object.keys(sdk?.dependencies ?? {})
    expect(direct.length).toBeGreaterThan(0)
    for (const name of direct) {
      const entry = lock.packages[`node_modules/${sdkPackage.name}/node_modules/${name}`] ?? lock.packages[`node_modules/${name}`]
      expect({ name, dev: entry?.dev }).toEqual({ name, dev: true })
    }
  })
})
