import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, tempDir } from "./harness.js"
import { startPeer } from "./peer.js"

export interface Prometheus {
  readonly url: string
  readonly query: (promql: string) => Promise<ReadonlyArray<{ metric: Record<string, string>; value: [number, string] }>>
  /** Alerts of its rules, pending and firing (`GET /api/v1/alerts`). */
  readonly alerts: () => Promise<ReadonlyArray<PrometheusAlert>>
  /** When each rule group was last evaluated (epoch ms), by group name. */
  readonly lastEvaluations: () => Promise<ReadonlyMap<string, number>>
  readonly stop: () => Promise<void>
}

export interface PrometheusAlert {
  readonly labels: Record<string, string>
  readonly state: "pending" | "firing"
  readonly activeAt: string
}

const getData = async <A>(url: string): Promise<A> => {
  const body = (await (await fetch(url)).json()) as { status: string; data: A }
  if (body.status !== "success") throw new Error(`${url} failed: ${JSON.stringify(body)}`)
  return body.data
}

/**
 * A real Prometheus (Debian package) on loopback, scraping the given target every second and evaluating the rule
 * files given (absolute paths) every second.
 */
export const startPrometheus = async (target: string, ruleFiles: ReadonlyArray<string> = []): Promise<Prometheus> => {
  const dir = tempDir("phala-drift-prom-")
  const port = await freePort()
  const config = join(dir, "prometheus.yml")
  writeFileSync(config, [
    "global:",
    "  scrape_interval: 1s",
    "  evaluation_interval: 1s",
    ...(ruleFiles.length === 0 ? [] : ["rule_files:", ...ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)]),
    "scrape_configs:",
    "  - job_name: phala-drift",
    "    static_configs:",
    `      - targets: ["${target}"]`,
    ""
  ].join("\n"))
  const url = `http://127.0.0.1:${port}`
  const peer = await startPeer("prometheus", [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn"
  ], `${url}/-/ready`)
  return {
    url,
    query: async (promql) => {
      const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)
      const body = (await r.json()) as { status: string; data: { result: ReadonlyArray<{ metric: Record<string, string>; value: [number, string] }> } }
      if (body.status !== "success") throw new Error(`query failed: ${JSON.stringify(body)}`)
      return body.data.result
    },
    alerts: async () => (await getData<{ alerts: ReadonlyArray<PrometheusAlert> }>(`${url}/api/v1/alerts`)).alerts,
    lastEvaluations: async () => {
      const data = await getData<{ groups: ReadonlyArray<{ name: string; lastEvaluation: string }> }>(`${url}/api/v1/rules`)
      return new Map(data.groups.map((g) => [g.name, Date.parse(g.lastEvaluation)]))
    },
    stop: peer.stop
  }
}
