// Preloaded into a CLI child (`NODE_OPTIONS=--import …`): on exit, writes the process's peak RSS (VmHWM, kB)
// to $PEAK_RSS_FILE, so a test can bound the memory of a short-lived `plan` run exactly.
import { readFileSync, writeFileSync } from "node:fs"

const out = process.env.PEAK_RSS_FILE
if (out) {
  process.on("exit", () => {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))
    writeFileSync(out, match ? match[1] : "")
  })
}
