// The Grafana dashboard's queries through Prometheus' own engine (promtool from Debian's `prometheus`): every query
// parses, and the data age and the tables return what the panels claim on a two-shard fleet.
import { spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import YAML from "yaml"
import { ROOT, tempDir } from "./support/harness.js"

interface Target { readonly refId: string; readonly expr: string }
interface Panel { readonly title: string; readonly type: string; readonly targets: ReadonlyArray<Target> }
const dashboard = JSON.parse(readFileSync(join(ROOT, "deploy", "grafana", "phala-drift.json"), "utf8")) as { panels: ReadonlyArray<Panel> }

/** A query as Grafana sends it: variables substituted (all jobs and instances, a 2m rate window). */
const asSent = (expr: string): string => {
  const sent = expr.replaceAll("$__rate_interval", "2m").replaceAll("$job", ".*").replaceAll("$instance", ".*")
  if (sent.includes("$")) throw new Error(`unknown variable in ${expr}`)
  return sent
}
const queries = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p, refId: t.refId, expr: asSent(t.expr) })))
const query = (title: string, refId: string): string => {
  const found = queries.find((q) => q.panel.title === title && q.refId === refId)
  if (found === undefined) throw new Error(`no query ${title}/${refId}`)
  return found.expr
}

const promtool = (args: ReadonlyArray<string>) => {
  const r = spawnSync("promtool", args, { encoding: "utf8", timeout: 60_000 })
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}` }
}
const writeYaml = (name: string, value: unknown): string => {
  const file = join(tempDir("phala-drift-dashboard-"), name)
  writeFileSync(file, YAML.stringify(value))
  return file
}
const checkRules = (exprs: ReadonlyArray<string>) =>
  promtool(["check", "rules", writeYaml("rules.yml", { groups: [{ name: "dashboard", rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] })])

type Labels = Record<string, string>
const selector = (name: string, labels: Labels) =>
  `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`
const labelText = (labels: Labels) => `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`

// A fleet on two shards, sampled every minute, evaluated at 10m. Shard b stopped being scraped after 5m (its last
// cycle finished at 300 s); on shard a, payments (app1) is out of sync (replicas and status drift, CVM payments-0
// stopped) and was last read at 300 s; search (app2) is in sync.
const JOB = "phala-drift"
const A = { job: JOB, instance: "a:9477" }
const B = { job: JOB, instance: "b:9477" }
const APP1 = { ...A, app_id: "app1", app_name: "payments" }
const APP2 = { ...A, app_id: "app2", app_name: "search" }
const series: ReadonlyArray<readonly [string, Labels, string]> = [
  ["phala_drift_last_poll_success_timestamp_seconds", A, "0+60x10"],
  ["phala_drift_last_poll_success_timestamp_seconds", B, "0+60x5 stale"],
  ["phala_drift_apps", A, "2x10"],
  ["phala_drift_apps", B, "1x5 stale"],
  ["phala_drift_poll_duration_seconds_sum", A, "0+2x10"],
  ["phala_drift_poll_duration_seconds_count", A, "0+1x10"],
  ["phala_drift_config_last_reload_successful", A, "1x10"],
  ...(["in_sync", "out_of_sync", "unknown"] as const).flatMap((status) => [
    ["phala_app_sync_status", { ...APP1, status }, status === "out_of_sync" ? "1x10" : "0x10"] as const,
    ["phala_app_sync_status", { ...APP2, status }, status === "in_sync" ? "1x10" : "0x10"] as const
  ]),
  ...(["missing_app", "replicas", "status", "attribute"] as const).flatMap((kind) => [
    ["phala_app_drift", { ...APP1, kind }, kind === "replicas" || kind === "status" ? "1x10" : "0x10"] as const,
    ["phala_app_drift", { ...APP2, kind }, "0x10"] as const
  ]),
  ["phala_app_replicas", APP1, "1x10"],
  ["phala_app_replicas", APP2, "2x10"],
  ["phala_app_replicas_desired_min", APP1, "2x10"],
  ["phala_app_replicas_desired_min", APP2, "1x10"],
  ["phala_app_replicas_desired_max", APP1, "3x10"],
  ["phala_app_replicas_desired_max", APP2, "2x10"],
  ["phala_app_last_success_timestamp_seconds", APP1, "0+60x5 300x5"],
  ["phala_app_last_success_timestamp_seconds", APP2, "0+60x10"],
  ...(["healthy", "progressing", "degraded", "unknown"] as const).flatMap((health) => [
    ["phala_cvm_health", { ...APP1, vm_uuid: "v1", cvm_name: "payments-0", health }, health === "degraded" ? "1x10" : "0x10"] as const,
    ["phala_cvm_health", { ...APP1, vm_uuid: "v2", cvm_name: "payments-1", health }, health === "healthy" ? "1x10" : "0x10"] as const
  ]),
  ...(["running", "stopped"] as const).flatMap((status) => [
    ["phala_cvm_status", { ...APP1, vm_uuid: "v1", cvm_name: "payments-0", status }, status === "stopped" ? "1x10" : "0x10"] as const,
    ["phala_cvm_status", { ...APP1, vm_uuid: "v2", cvm_name: "payments-1", status }, status === "running" ? "1x10" : "0x10"] as const
  ])
]

/** What each checked query returns at 10m; every table's queries must return the same label sets (merge joins on them). */
const expected: Record<string, Record<string, ReadonlyArray<readonly [Labels, number]>>> = {
  "Data age (oldest shard)": { A: [[{}, 300]] },
  "Apps in sync": { A: [[{}, 1]] },
  "Apps out of sync": { A: [[{}, 1]] },
  "Apps unknown (API unreachable)": { A: [[{}, 0]] },
  "Out-of-sync apps": {
    A: [[APP1, 2]],
    B: [[APP1, 1]],
    C: [[APP1, 2]],
    D: [[APP1, 3]],
    E: [[APP1, 300]]
  },
  "CVMs not in their desired status": {
    A: [[{ ...APP1, vm_uuid: "v1", cvm_name: "payments-0", health: "degraded", status: "stopped" }, 1]]
  },
  Shards: {
    A: [[A, 0], [B, 300]],
    B: [[A, 2]],
    C: [[A, 2]],
    D: [[A, 1]]
  }
}

const testRules = (cases: ReadonlyArray<{ expr: string; samples: ReadonlyArray<readonly [Labels, number]> }>) =>
  promtool(["test", "rules", writeYaml("dashboard.test.yml", {
    rule_files: [],
    evaluation_interval: "1m",
    tests: [{
      interval: "1m",
      input_series: series.map(([name, labels, values]) => ({ series: selector(name, labels), values })),
      promql_expr_test: cases.map((c) => ({
        expr: c.expr,
        eval_time: "10m",
        exp_samples: c.samples.map(([labels, value]) => ({ labels: labelText(labels), value }))
      }))
    }]
  })])

describe("Grafana dashboard queries in Prometheus' engine (promtool)", () => {
  it("every query parses", () => {
    expect(queries.length).toBeGreaterThan(20)
    const r = checkRules(queries.map((q) => q.expr))
    expect(r.status, r.output).toBe(0)
    expect(r.output).toContain(`SUCCESS: ${queries.length} rules found`)
  })

  it("the parse check can fail", () => {
    expect(checkRules(["sum(rate(phala_drift_api_requests_total[2m])"]).status).not.toBe(0)
  })

  it("the stat and table queries return what their panels claim on a two-shard fleet", () => {
    const checked = Object.entries(expected).flatMap(([title, refs]) =>
      Object.entries(refs).map(([refId, samples]) => ({ expr: query(title, refId), samples })))
    // every table and stat panel, every query of it, is covered
    const covered = dashboard.panels.filter((p) => p.type === "table" || p.type === "stat")
    expect(Object.keys(expected).sort()).toEqual(covered.map((p) => p.title).sort())
    for (const p of covered) expect(Object.keys(expected[p.title] ?? {}).sort(), p.title).toEqual(p.targets.map((t) => t.refId).sort())
    const r = testRules(checked)
    expect(r.status, r.output).toBe(0)
    expect(r.output).toContain("SUCCESS")
  })

  it("data age is the oldest shard's, also once a shard is no longer scraped (max, or min without last_over_time, would say 0)", () => {
    const age = query("Data age (oldest shard)", "A")
    expect(testRules([{ expr: age, samples: [[{}, 300]] }]).status).toBe(0)
    // the same fleet seen by the wrong queries: the test above can fail
    expect(testRules([{ expr: age.replace("min(", "max("), samples: [[{}, 300]] }]).status).not.toBe(0)
    expect(testRules([{ expr: "time() - min(phala_drift_last_poll_success_timestamp_seconds)", samples: [[{}, 300]] }]).status).not.toBe(0)
  })
})
