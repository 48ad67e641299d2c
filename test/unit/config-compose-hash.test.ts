import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ReadSecretFile } from "../../src/Config/Build.js"
import { formatDiagnostic } from "../../src/Config/Diagnostics.js"
import { checkConfig, validReport } from "../../src/Config/Load.js"
import { configWarnings, daemonWarnings, formatPlacedWarning } from "../../src/Config/Warnings.js"

const APP = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const APP2 = "0123456789abcdef0123456789abcdef01234567"
const HASH = "ab".repeat(32)
const env = { PHALA_CLOUD_API_KEY: "phak_test" }
const noFiles: ReadSecretFile = () => Effect.fail("NotFound")
const check = (text: string) => checkConfig(text, "desired.yaml", env, noFiles, "error")

const file = (api: string) =>
  [
    "version: 1",
    api,
    "apps:",
    `  - app_id: ${APP}`,
    "    cvm:",
    "      instance_type: tdx.small",
    `      compose_hash: ${HASH}`,
    `  - app_id: ${APP2}`,
    ""
  ].join("\n")

describe("cvm.compose_hash in the config", () => {
  it.effect("is read into the desired attributes", () =>
    Effect.gen(function*() {
      const { config } = yield* check(file("api: { api_version: \"2026-01-21\" }"))
      expect(config?.apps[0]?.cvm).toEqual({ instance_type: "tdx.small", compose_hash: HASH })
      expect(config?.apps[1]?.cvm).toEqual({})
    }))

  it.effect("warns with file:line:col and key path when the api_version cannot report it (the default included)", () =>
    Effect.gen(function*() {
      for (const api of ["api: { api_version: \"2025-10-28\" }", "api: {}"]) {
        const checked = yield* check(file(api))
        expect(checked.warnings.map(formatPlacedWarning)).toEqual([
          "desired.yaml:7:21: apps[0].cvm.compose_hash: warning: never compared: api_version \"2025-10-28\" answers in " +
          "the legacy shape, which has no compose_hash; set api.api_version to \"2026-01-21\" or later"
        ])
        const report = validReport("desired.yaml", checked)
        expect(JSON.stringify(report)).toContain("apps[0].cvm.compose_hash")
      }
    }))

  it.effect("serve logs one warning for every app that declares it, and none when the api_version reports it", () =>
    Effect.gen(function*() {
      const legacy = (yield* check(file("api: {}"))).config
      const current = (yield* check(file("api: { api_version: \"2026-05-22\" }"))).config
      if (legacy === null || current === null) throw new Error("expected configs")
      expect(daemonWarnings(legacy)).toEqual([...configWarnings(legacy), {
        path: "cvm.compose_hash",
        message: "declared by 1 app (apps[0]) but never compared: api_version \"2025-10-28\" answers in the legacy shape, " +
          "which has no compose_hash; set api.api_version to \"2026-01-21\" or later"
      }])
      expect(daemonWarnings(current)).toEqual(configWarnings(current))
    }))

  it.effect("places a warning on defaults.cvm.compose_hash too", () =>
    Effect.gen(function*() {
      const text = `version: 1\ndefaults:\n  cvm: { compose_hash: ${HASH} }\napps:\n  - app_id: ${APP}\n`
      const checked = yield* check(text)
      expect(checked.warnings.map((w) => [w.path, w.line])).toEqual([["defaults.cvm.compose_hash", 3]])
    }))

  it.effect("does not warn when the api_version reports it", () =>
    Effect.gen(function*() {
      for (const version of ["2026-01-21", "2026-05-22"]) {
        expect((yield* check(file(`api: { api_version: "${version}" }`))).warnings).toEqual([])
      }
    }))

  it.effect("must be 64 hex characters, even when YAML reads it as a number", () =>
    Effect.gen(function*() {
      const bad = (value: string) =>
        Effect.flip(check(`version: 1\napps:\n  - app_id: ${APP}\n    cvm: { compose_hash: ${value} }\n`)).pipe(
          Effect.map((error) => error.diagnostics.map(formatDiagnostic))
        )
      expect((yield* bad("abc"))[0]).toContain("apps[0].cvm.compose_hash: must be 64 hex characters")
      const digits = "1".repeat(64)
      const { config } = yield* check(`version: 1\napps:\n  - app_id: ${APP}\n    cvm: { compose_hash: ${digits} }\n`)
      expect(config?.apps[0]?.cvm.compose_hash).toBe(digits)
    }))
})
