import { spawn } from "node:child_process"
import { sleep, waitFor } from "./harness.js"

export interface Peer {
  readonly stop: () => Promise<void>
}

/** Starts a real peer binary (Prometheus, Alertmanager) and waits until `readyUrl` answers 2xx. */
export const startPeer = async (command: string, args: ReadonlyArray<string>, readyUrl: string): Promise<Peer> => {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  await waitFor(`${command} ready`, async () => {
    if (child.exitCode !== null) throw new Error(`${command} exited: ${stderr}`)
    return (await fetch(readyUrl)).ok ? true : undefined
  }, 30_000)
  return {
    stop: async () => {
      child.kill("SIGTERM")
      await Promise.race([exited, sleep(10_000)])
    }
  }
}
