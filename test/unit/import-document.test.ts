import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { parse } from "yaml"
import type { ReadSecretFile } from "../../src/Config/Build.js"
import { literalSecrets, mergeDocument, newDocument } from "../../src/Config/ImportDocument.js"
import { checkConfig } from "../../src/Config/Load.js"
import { agreedAttributes, type ImportedApp, importedApps, importedStatus } from "../../src/Core/Import/ImportedApp.js"
import { cvm, observedApp } from "../support/builders.js"

const KEY = "phak_live_IMPORT_SECRET_4242"
const env = { PHALA_CLOUD_API_KEY: KEY }
const noFiles: ReadSecretFile = () => Effect.fail("NotFound")
const validated = (text: string) => checkConfig(text, "imported.yaml", env, noFiles, "error")

const A = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const B = "0123456789abcdef0123456789abcdef01234567"
const DIGITS = "1234567890123456789012345678901234567890"
const HASH = "0".repeat(64)

const app = (appId: string, name: string | null, overrides: Partial<ImportedApp> = {}): ImportedApp => ({
  appId,
  name,
  replicas: 2,
  status: "running",
  cvm: { instance_type: "tdx.large", vcpu: 4, compose_hash: HASH },
  ...overrides
})

const merged = (text: string, apps: ReadonlyArray<ImportedApp>) => {
  const result = mergeDocument(text, apps)
  if (Either.isLeft(result)) throw new Error(result.left)
  return result.right
}

const existing = `# Production fleet. Owned by SRE.
version: 1
api:
  api_key: \${PHALA_CLOUD_API_KEY}
  api_version: "2026-01-21"

defaults:
  severity: critical

apps:
  # payments: scaled by hand during sales, hence the range
  - app_id: APP_${A.toUpperCase()}
    name: payments
    replicas: { min: 2, max: 4 }
    cvm: { instance_type: tdx.large }   # pinned for the TDX attestation

  - app_id: ${B}
    labels: { team: search }
# end of fleet
`

describe("ImportedApp", () => {
  it("keeps only the attributes on which every CVM agrees", () => {
    const observed = observedApp([
      cvm({ vmUuid: "a", name: "a", composeHash: HASH }),
      cvm({ vmUuid: "b", name: "b", composeHash: HASH, instanceType: "tdx.medium", node: null })
    ])
    expect(agreedAttributes(observed)).toEqual({
      vcpu: 4,
      memory_mb: 8192,
      disk_gb: 20,
      region: "EU-WEST-1",
      base_image: "dstack-0.5.5",
      kms_type: "phala",
      compose_hash: HASH
    })
  })

  it("declares no attribute when the answer carried fewer CVMs than run, and none that the config would refuse", () => {
    expect(agreedAttributes(observedApp([cvm()], { replicas: 3 }))).toEqual({})
    expect(agreedAttributes(observedApp([cvm({ region: " ", vcpu: 0, composeHash: "short" })]))).not.toHaveProperty("region")
    expect(agreedAttributes(observedApp([cvm({ region: " ", vcpu: 0, composeHash: "short" })]))).not.toHaveProperty("vcpu")
    expect(agreedAttributes(observedApp([cvm({ composeHash: "short" })]))).not.toHaveProperty("compose_hash")
  })

  it("is stopped only when every CVM is stopped", () => {
    expect(importedStatus(observedApp([cvm({ status: "Stopped" }), cvm({ status: "stopped" })]))).toBe("stopped")
    expect(importedStatus(observedApp([cvm({ status: "stopped" }), cvm({ status: "running" })]))).toBe("running")
    expect(importedStatus(observedApp([cvm({ status: "exited" })]))).toBe("running")
    expect(importedStatus(observedApp([]))).toBe("running")
  })

  it("sorts by name then id and leaves out a blank name", () => {
    const apps = importedApps([
      observedApp([], { appId: B, name: "zeta" }),
      observedApp([], { appId: A, name: "alpha" }),
      observedApp([], { appId: DIGITS, name: "  " })
    ])
    expect(apps.map((a) => [a.appId, a.name, a.replicas])).toEqual([[A, "alpha", 0], [B, "zeta", 0], [DIGITS, null, 0]])
  })
})

describe("newDocument", () => {
  it.effect("writes a file that validates, with the key as ${PHALA_CLOUD_API_KEY} and never the key itself", () =>
    Effect.gen(function*() {
      const text = newDocument({ url: null, apiVersion: "2026-01-21" }, [app(A, "payments"), app(DIGITS, null, { status: "stopped", cvm: {} })])
      expect(text).toContain("api_key: ${PHALA_CLOUD_API_KEY}")
      expect(text).not.toContain(KEY)
      expect(text).not.toContain("url:")
      expect(text.startsWith("# Written by `phala-drift import`")).toBe(true)
      const { config, warnings } = yield* validated(text)
      expect(warnings).toEqual([])
      expect(config?.api.apiVersion).toBe("2026-01-21")
      expect(config?.apps.map((a) => [a.appId, a.name, a.replicas, a.status, a.cvm])).toEqual([
        [A, "payments", { min: 2, max: 2 }, "running", { instance_type: "tdx.large", vcpu: 4, compose_hash: HASH }],
        [DIGITS, null, { min: 2, max: 2 }, "stopped", {}]
      ])
    }))

  it.effect("keeps a URL that is not the default, and an empty workspace is still a valid file", () =>
    Effect.gen(function*() {
      const text = newDocument({ url: "http://127.0.0.1:8787/api/v1", apiVersion: "2025-10-28" }, [])
      expect(parse(text)).toEqual({
        version: 1,
        api: { url: "http://127.0.0.1:8787/api/v1", api_key: "${PHALA_CLOUD_API_KEY}", api_version: "2025-10-28" },
        apps: []
      })
      expect((yield* validated(text)).config?.apps).toEqual([])
    }))
})

describe("mergeDocument", () => {
  it("appends only the apps the file does not declare (ids compared as the config reads them)", () => {
    const result = merged(existing, [app(A, "payments-from-api"), app(B, "search"), app(DIGITS, "new-one")])
    expect(result.added.map((a) => a.appId)).toEqual([DIGITS])
    expect(result.alreadyDeclared).toBe(2)
    const apps = parse(result.text).apps
    expect(apps).toHaveLength(3)
    expect(apps[0]).toEqual({ app_id: `APP_${A.toUpperCase()}`, name: "payments", replicas: { min: 2, max: 4 }, cvm: { instance_type: "tdx.large" } })
    expect(apps[1]).toEqual({ app_id: B, labels: { team: "search" } })
    expect(apps[2]).toEqual({
      app_id: DIGITS,
      name: "new-one",
      replicas: 2,
      status: "running",
      cvm: { instance_type: "tdx.large", vcpu: 4, compose_hash: HASH }
    })
  })

  it("keeps every comment and the entries as written", () => {
    const { text } = merged(existing, [app(DIGITS, "new-one")])
    for (const comment of ["# Production fleet. Owned by SRE.", "# payments: scaled by hand during sales, hence the range", "# pinned for the TDX attestation", "# end of fleet"]) {
      expect(text).toContain(comment)
    }
    for (const line of ["    replicas: { min: 2, max: 4 }", `  - app_id: APP_${A.toUpperCase()}`, "    labels: { team: search }", "  api_version: \"2026-01-21\"", "defaults:\n  severity: critical"]) {
      expect(text).toContain(line)
    }
    // the new entry comes after the declared ones
    expect(text.indexOf(DIGITS)).toBeGreaterThan(text.indexOf("labels: { team: search }"))
    // byte for byte: the file as written, with the new entry inserted where the list ends
    const end = "# end of fleet\n"
    expect(text.startsWith(existing.slice(0, -end.length))).toBe(true)
    expect(text.endsWith(`    status: running\n    cvm:\n      instance_type: tdx.large\n      vcpu: 4\n      compose_hash: "${HASH}"\n${end}`)).toBe(true)
  })

  it("inserts at the list's own indentation, before later keys, also at the end of a file without a final newline", () => {
    const text = `version: 1\napps:\n- app_id: ${A}   # aligned   \n  name: a\nalerting: {}   # after the list`
    const result = merged(text, [app(DIGITS, "new-one", { cvm: {} })])
    expect(result.text).toBe(
      `version: 1\napps:\n- app_id: ${A}   # aligned   \n  name: a\n\n- app_id: "${DIGITS}"\n  name: new-one\n  replicas: 2\n  status: running\n` +
        "alerting: {}   # after the list"
    )
    const atEnd = merged(`version: 1\napps:\n  - app_id: ${A}`, [app(DIGITS, "new-one", { cvm: {} })])
    expect(parse(atEnd.text).apps.map((a: { app_id: string }) => a.app_id)).toEqual([A, DIGITS])
    expect(atEnd.text.startsWith(`version: 1\napps:\n  - app_id: ${A}\n\n  - app_id: "${DIGITS}"\n`)).toBe(true)
  })

  it.effect("the merged file validates, the key is not in it, and declared apps keep their settings", () =>
    Effect.gen(function*() {
      const { text } = merged(existing, [app(DIGITS, "new-one")])
      expect(text).not.toContain(KEY)
      const { config } = yield* validated(text)
      expect(config?.apps.map((a) => [a.appId, a.replicas, a.severity])).toEqual([
        [A, { min: 2, max: 4 }, "critical"],
        [B, { min: 1, max: 1 }, "critical"],
        [DIGITS, { min: 2, max: 2 }, "critical"]
      ])
    }))

  it("gives the text back byte for byte when every app is already declared", () => {
    const result = merged(existing, [app(A, "x"), app(B, "y")])
    expect(result.text).toBe(existing)
    expect(result.added).toEqual([])
  })

  it("turns an empty flow list into a block list, and refuses an apps: that is not a list in the file", () => {
    const { text } = merged("version: 1\napps: []   # nothing yet\n", [app(A, "payments")])
    expect(text).toContain(`apps:\n  - app_id: ${A}\n`)
    expect(text).toContain("# nothing yet")
    expect(parse(text).apps).toHaveLength(1)
    expect(Either.isLeft(mergeDocument("version: 1\napps: *list\nx: &list []\n", [app(A, "p")]))).toBe(true)
    expect(Either.isLeft(mergeDocument("version: 1\napps: [\n", [app(A, "p")]))).toBe(true)
  })
})

describe("literalSecrets", () => {
  it("names secrets written as values, not ${VAR} references or *_file keys", () => {
    expect(literalSecrets(existing)).toEqual([])
    expect(literalSecrets(`version: 1\napi: { api_key: ${KEY} }\nserver: { auth: { bearer_token: "\${T}" } }\napps: []\n`)).toEqual(["api.api_key"])
    expect(literalSecrets("version: 1\napi: { api_key_file: /run/secrets/phala }\nalerting:\n  receivers:\n    - { name: s, type: slack, webhook_url: https://hooks.slack.com/x }\napps: []\n"))
      .toEqual(["alerting.receivers[0].webhook_url"])
  })
})
