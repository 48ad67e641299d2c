import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, tempDir } from "./harness.js"
import { startPeer } from "./peer.js"

export interface Prometheus {
  readonly url: string
  readonly query: (promql: string) => Promise<ReadonlyArray<{ metric: Record<string, string>; value: [number, string] }>>
  readonly stop: () => Promise<void>
}

/** A real Prometheus (Debian package) on loopback, scraping the given target every second. */
export const startPrometheus = async (target: string): Promise<Prometheus> => {
  const dir = tempDir("phala-drift-prom-")
  const port = await freePort()
  const config = join(dir, "prometheus.yml")
  writeFileSync(config, [
    "global:",
    "  scrape_interval: 1s",
    "  evaluation_interval: 1s",
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
    stop: peer.stop
  }
}
