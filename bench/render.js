// Re-render cost of an exposition with prom-client, the library the daemon renders with: every sample of a scraped
// exposition becomes a gauge series again, then each round does what the daemon does at the end of a cycle (reset
// the gauges, set every series, registry.metrics(), gzip). This times one render without the daemon's internals.
import { promisify } from "node:util"
import { gzip } from "node:zlib"
import Prom from "prom-client"

const gzipAsync = promisify(gzip)

const unescape = (value) => value.replace(/\\(.)/g, (_m, c) => (c === "n" ? "\n" : c))

/** Parses `name{a="x",b="y"} value` lines; comments and blank lines are skipped. */
export const parseExposition = (text) => {
  const series = []
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const brace = line.indexOf("{")
    const space = line.lastIndexOf(" ")
    const name = brace >= 0 && brace < space ? line.slice(0, brace) : line.slice(0, space)
    const labels = {}
    if (brace >= 0 && brace < space) {
      const body = line.slice(brace + 1, line.lastIndexOf("}"))
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g
      for (let m = re.exec(body); m !== null; m = re.exec(body)) labels[m[1]] = unescape(m[2])
    }
    const raw = line.slice(space + 1)
    series.push({ name, labels, value: raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw) })
  }
  return series
}

/** Median and minimum milliseconds of `rounds` full renders of the given series. */
export const timeRender = async (series, rounds = 7) => {
  const registry = new Prom.Registry()
  const families = new Map()
  for (const s of series) {
    const names = Object.keys(s.labels).sort()
    const family = families.get(s.name) ?? { names: new Set(), samples: [] }
    for (const n of names) family.names.add(n)
    family.samples.push(s)
    families.set(s.name, family)
  }
  const gauges = [...families].map(([name, f]) => ({
    gauge: new Prom.Gauge({ name, help: name, labelNames: [...f.names], registers: [registry] }),
    samples: f.samples
  }))
  const times = []
  let bytes = 0
  for (let i = 0; i < rounds; i++) {
    const started = process.hrtime.bigint()
    for (const { gauge, samples } of gauges) {
      gauge.reset()
      for (const s of samples) gauge.set(s.labels, s.value)
    }
    const text = await registry.metrics()
    await gzipAsync(text)
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
    bytes = text.length
  }
  times.sort((a, b) => a - b)
  return { median_ms: times[Math.floor(times.length / 2)], min_ms: times[0], bytes }
}
