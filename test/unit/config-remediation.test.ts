import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import type { ReadSecretFile } from "../../src/Config/Build.js"
import { formatDiagnostic } from "../../src/Config/Diagnostics.js"
import { parseConfig } from "../../src/Config/Load.js"
import { configShape } from "../../src/Config/FileSchema.js"
import { childShape } from "../../src/Config/Shape.js"

const APP = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const env = { PHALA_CLOUD_API_KEY: "k" }
const noFiles: ReadSecretFile = () => Effect.fail("NotFound")
const load = (text: string) => parseConfig(text, "desired.yaml", env, noFiles)

describe("remediation config", () => {
  it.effect("off by default, with the documented limits", () =>
    Effect.gen(function*() {
      const config = yield* load(`version: 1\napps:\n  - app_id: ${APP}\n`)
      expect(config.remediation?.enabled).toBe(false)
      expect(config.remediation?.dryRun).toBe(false)
      expect(config.remediation?.maxActionsPerCycle).toBe(5)
      expect(Duration.toMillis(config.remediation?.cooldown ?? Duration.zero)).toBe(600_000)
      expect(config.remediation?.maxAttempts).toBe(3)
      expect(config.apps[0]?.remediate).toBe(false)
    }))

  it.effect("reads the block and the per-app switch", () =>
    Effect.gen(function*() {
      const config = yield* load([
        "version: 1",
        "remediation: { enabled: true, dry_run: true, max_actions_per_cycle: 2, cooldown: 30s, max_attempts: 4 }",
        "apps:",
        `  - app_id: ${APP}`,
        "    remediate: true",
        ""
      ].join("\n"))
      expect(config.remediation).toEqual({ enabled: true, dryRun: true, maxActionsPerCycle: 2, cooldown: Duration.seconds(30), maxAttempts: 4 })
      expect(config.apps[0]?.remediate).toBe(true)
    }))

  it.effect("bad values and unknown keys name file, line, column and key", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load([
        "version: 1",
        "remediation:",
        "  enabled: yes please",
        "  max_attempts: 0",
        "  cooldwn: 1m",
        "apps:",
        `  - app_id: ${APP}`,
        "    remediate: 1",
        ""
      ].join("\n")))
      const lines = error.diagnostics.map(formatDiagnostic).join("\n")
      expect(lines).toContain("desired.yaml:3:")
      expect(lines).toContain("remediation.enabled")
      expect(lines).toContain("remediation.max_attempts")
      expect(lines).toContain("remediation.cooldwn")
      expect(lines).toContain("cooldown")
      expect(lines).toContain("apps[0].remediate")
    }))

  it("the shape knows the keys (unknown-key checks, schema, docs follow it)", () => {
    const remediation = childShape(configShape, "remediation")
    expect(remediation?._tag).toBe("Mapping")
    expect(remediation?._tag === "Mapping" ? [...remediation.keys.keys()] : []).toEqual([
      "enabled",
      "dry_run",
      "max_actions_per_cycle",
      "cooldown",
      "max_attempts"
    ])
  })
})
