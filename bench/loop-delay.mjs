// Preloaded into a process under test (`NODE_OPTIONS=--import …/loop-delay.mjs`, LOOP_DELAY_FILE set): measures its
// event-loop delay with perf_hooks.monitorEventLoopDelay (10 ms resolution, so an idle loop shows about 10-15 ms).
// Each SIGUSR2 closes the current window (one JSON line appended to the file) and opens a new one; so does exit.
// A fresh histogram records from its second tick on: open a window a little before the work it should cover.
// The main thread only: the config loader's worker gets the preload too, and its exit line would come first.
import { appendFileSync } from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { isMainThread } from "node:worker_threads"

const out = process.env.LOOP_DELAY_FILE
if (out && isMainThread) {
  const open = () => {
    const h = monitorEventLoopDelay({ resolution: 10 })
    h.enable()
    return { h, since: Date.now() }
  }
  let window = open()
  const close = (reason) => {
    const { h, since } = window
    h.disable()
    const ms = (ns) => Math.round((ns / 1e6) * 10) / 10
    appendFileSync(out, `${JSON.stringify({ reason, since, until: Date.now(), max_ms: ms(h.max), p99_ms: ms(h.percentile(99)), mean_ms: ms(h.mean), samples: h.count })}\n`)
  }
  process.on("SIGUSR2", () => {
    close("window")
    window = open()
  })
  process.on("exit", () => close("exit"))
}
