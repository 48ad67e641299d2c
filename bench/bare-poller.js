// The floor a reconcile cycle is measured against: fetch + JSON.parse of every app, nothing else, with the same
// concurrency bound and keep-alive connections (undici Agent, `connections` = concurrency).
// Usage: node bench/bare-poller.js --url http://127.0.0.1:PORT/api/v1 --concurrency 64 [--passes 2]
// Reads the app ids from the stand-in (/_standin/apps) before the clock starts. Prints one JSON line:
// {"apps":…,"passes":[{"ms":…,"errors":…}, …],"peak_rss_kb":…}; the first pass opens the connections, later ones reuse them.
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import { Agent, fetch as undiciFetch } from "undici"
import { API_KEY } from "./lib.js"

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    concurrency: { type: "string", default: "64" },
    passes: { type: "string", default: "2" },
    version: { type: "string", default: "2025-10-28" },
    client: { type: "string", default: "undici" }
  }
})
const api = values.url ?? ""
const concurrency = Number(values.concurrency)
const origin = new URL(api).origin
const ids = await (await fetch(`${origin}/_standin/apps`)).json()
const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
const headers = { "x-api-key": API_KEY, "x-phala-version": values.version, accept: "application/json" }

const pass = async () => {
  const queue = ids.values()
  let errors = 0
  let cvms = 0
  const worker = async () => {
    for (let next = queue.next(); !next.done; next = queue.next()) {
      const response = values.client === "undici"
        ? await undiciFetch(`${api}/apps/${next.value}`, { headers, dispatcher })
        : await fetch(`${api}/apps/${next.value}`, { headers })
      const body = JSON.parse(await response.text())
      if (response.status !== 200) errors += 1
      else cvms += Array.isArray(body.cvms) ? body.cvms.length : 0
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { ms: Math.round((performance.now() - started) * 10) / 10, errors, cvms }
}

const passes = []
for (let i = 0; i < Number(values.passes); i++) passes.push(await pass())
await dispatcher.close()
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]
process.stdout.write(`${JSON.stringify({ apps: ids.length, concurrency, passes, peak_rss_kb: Number(hwm) })}\n`)
