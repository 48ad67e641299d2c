import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, tempDir } from "./harness.js"
import { startPeer } from "./peer.js"

export interface AmAlert {
  readonly labels: Record<string, string>
  readonly annotations: Record<string, string>
  readonly startsAt: string
  readonly endsAt: string
  readonly generatorURL: string
  readonly status: { readonly state: string }
}

export interface Alertmanager {
  readonly url: string
  readonly alerts: (filter?: string) => Promise<ReadonlyArray<AmAlert>>
  readonly stop: () => Promise<void>
}

/** A real Alertmanager (Debian's prometheus-alertmanager) on loopback, without clustering. */
export const startAlertmanager = async (): Promise<Alertmanager> => {
  const dir = tempDir("phala-drift-am-")
  const port = await freePort()
  const config = join(dir, "alertmanager.yml")
  writeFileSync(config, "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n")
  const url = `http://127.0.0.1:${port}`
  const peer = await startPeer("prometheus-alertmanager", [
    `--config.file=${config}`,
    `--storage.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--cluster.listen-address=",
    "--log.level=warn"
  ], `${url}/-/ready`)
  return {
    url,
    alerts: async (filter) => {
      const query = filter === undefined ? "" : `?filter=${encodeURIComponent(filter)}`
      const response = await fetch(`${url}/api/v2/alerts${query}`)
      return (await response.json()) as ReadonlyArray<AmAlert>
    },
    stop: peer.stop
  }
}
