import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { ROOT } from "./support/harness.js"

const promtool = (...args: ReadonlyArray<string>) => spawnSync("promtool", args, { cwd: `${ROOT}/deploy/prometheus`, encoding: "utf8" })

describe("deploy/prometheus/alerts.yml", () => {
  it("passes promtool check rules", () => {
    const r = promtool("check", "rules", "alerts.yml")
    expect(r.stdout + r.stderr).toContain("SUCCESS: 11 rules found")
    expect(r.status).toBe(0)
  })

  it("passes promtool test rules", () => {
    const r = promtool("test", "rules", "alerts.test.yml")
    expect(r.stdout + r.stderr).toContain("SUCCESS")
    expect(r.status).toBe(0)
  })
})
