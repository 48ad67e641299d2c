// Preloaded into a CLI child (`NODE_OPTIONS=--import …`): on exit, writes the process's peak RSS (VmHWM, kB)
// to $PEAK_RSS_FILE, so a test can bound the memory of a short-lived `plan` run exactly.
import { readFileSync, writeFileSync } from "node:fs"
import { isMainThread } from "node:worker_threads"

// the process's figure, written once, by the main thread (a worker gets the preload too)
const out = process.env.PEAK_RSS_FILE
if (out && isMainThread) {
  process.on("exit", () => {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))
    writeFileSync(out, match ? match[1] : "")
  })
}
