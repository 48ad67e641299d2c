import { spawnSync } from "node:child_process"
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import YAML from "yaml"
import { ROOT, tempDir } from "./support/harness.js"

// The Debian packages `prometheus` and `prometheus-alertmanager` ship promtool and amtool.
const run = (tool: string, args: ReadonlyArray<string>, cwd = ROOT) => {
  const r = spawnSync(tool, args, { cwd, encoding: "utf8", timeout: 30_000 })
  return { status: r.status, stdout: r.stdout ?? "", output: `${r.stdout ?? ""}${r.stderr ?? ""}`, error: r.error }
}

/** deploy/compose and deploy/prometheus copied with the same relative layout, so the rule file path resolves. */
const copyLayout = (): string => {
  const dir = tempDir("phala-drift-deploy-")
  cpSync(join(ROOT, "deploy", "compose"), join(dir, "compose"), { recursive: true })
  cpSync(join(ROOT, "deploy", "prometheus"), join(dir, "prometheus"), { recursive: true })
  return dir
}

describe("compose kit with the real tools", () => {
  it("promtool check config accepts prometheus.yml and loads the rule file it names", () => {
    const r = run("promtool", ["check", "config", "deploy/compose/prometheus.yml"])
    expect(r.error).toBeUndefined()
    expect(r.output).toContain("SUCCESS")
    expect(r.status, r.output).toBe(0)
    // alerts.yml has 9 rules; promtool really read it
    expect(r.output).toMatch(/prometheus\/alerts\.yml[\s\S]*SUCCESS: \d+ rules found/)
  })

  it("promtool fails when the rule file does not resolve (the check can fail)", () => {
    const dir = copyLayout()
    const config = join(dir, "compose", "prometheus.yml")
    writeFileSync(config, readFileSync(config, "utf8").replace("../prometheus/alerts.yml", "../prometheus/missing.yml"))
    const r = run("promtool", ["check", "config", config])
    expect(r.status).not.toBe(0)
  })

  it("promtool checks the same layout from a copy, and rejects a broken rule", () => {
    const dir = copyLayout()
    const config = join(dir, "compose", "prometheus.yml")
    expect(run("promtool", ["check", "config", config]).status).toBe(0)
    const rules = join(dir, "prometheus", "alerts.yml")
    writeFileSync(rules, readFileSync(rules, "utf8").replace("phala_app_up == 0", "phala_app_up == == 0"))
    expect(run("promtool", ["check", "config", config]).status).not.toBe(0)
  })

  it("amtool check-config accepts alertmanager.yml", () => {
    const r = run("amtool", ["check-config", "deploy/compose/alertmanager.yml"])
    expect(r.error).toBeUndefined()
    expect(r.status, r.output).toBe(0)
    expect(r.output).toContain("SUCCESS")
  })

  it("amtool rejects a route to an unknown receiver (the check can fail)", () => {
    const dir = tempDir("phala-drift-am-")
    const config = join(dir, "alertmanager.yml")
    writeFileSync(config, readFileSync(join(ROOT, "deploy", "compose", "alertmanager.yml"), "utf8").replace("receiver: discard", "receiver: nobody"))
    expect(run("amtool", ["check-config", config]).status).not.toBe(0)
  })

  it("Alertmanager routes the Prometheus copies of drift alerts away from people, and keeps the daemon's own health alerts", () => {
    const config = join(ROOT, "deploy", "compose", "alertmanager.yml")
    const route = (labels: ReadonlyArray<string>) => {
      const r = run("amtool", ["config", "routes", "test", `--config.file=${config}`, ...labels])
      expect(r.status, r.output).toBe(0)
      // stdout holds the receiver; stderr a warning about --config.file
      return r.stdout.trim()
    }
    expect(route(["alertname=PhalaCvmStatusDrift", "severity=warning"])).toBe("people")
    expect(route(["alertname=PhalaCvmStatusDrift", "source=prometheus"])).toBe("discard")
    expect(route(["alertname=PhalaDriftDown", "source=prometheus"])).toBe("people")
  })

  it("the PrometheusRule of the kubernetes kit passes promtool check rules", () => {
    const rule = YAML.parse(readFileSync(join(ROOT, "deploy", "kubernetes", "prometheusrule.yaml"), "utf8")) as { spec: { groups: unknown } }
    const dir = tempDir("phala-drift-rule-")
    mkdirSync(dir, { recursive: true })
    const file = join(dir, "rules.yml")
    writeFileSync(file, YAML.stringify({ groups: rule.spec.groups }))
    const r = run("promtool", ["check", "rules", file])
    expect(r.status, r.output).toBe(0)
    expect(r.output).toMatch(/SUCCESS: 9 rules found/)
  })
})
