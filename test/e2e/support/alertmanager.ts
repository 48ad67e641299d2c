import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, sleep, tempDir, waitFor } from "./harness.js"

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
  const child = spawn("prometheus-alertmanager", [
    `--config.file=${config}`,
    `--storage.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--cluster.listen-address=",
    "--log.level=warn"
  ], { stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const url = `http://127.0.0.1:${port}`
  await waitFor("alertmanager ready", async () => {
    if (child.exitCode !== null) throw new Error(`alertmanager exited: ${stderr}`)
    return (await fetch(`${url}/-/ready`)).ok ? true : undefined
  }, 30_000)
  return {
    url,
    alerts: async (filter) => {
      const query = filter === undefined ? "" : `?filter=${encodeURIComponent(filter)}`
      const response = await fetch(`${url}/api/v2/alerts${query}`)
      return (await response.json()) as ReadonlyArray<AmAlert>
    },
    stop: async () => {
      child.kill("SIGTERM")
      await Promise.race([exited, sleep(10_000)])
    }
  }
}
