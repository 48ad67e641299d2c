// The floor a reconcile cycle is measured against: fetch + JSON.parse of every app, nothing else, with the same
// concurrency bound and keep-alive connections (undici Agent, `connections` = concurrency).
// With --list it reads the workspace as the sweep does instead: GET /apps?page=1&page_size=100, then the other pages
// in parallel under the same bound (fetch + JSON.parse of each page).
// Usage: node bench/bare-poller.js --url http://127.0.0.1:PORT/api/v1 --concurrency 64 [--passes 2] [--list]
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
    client: { type: "string", default: "undici" },
    list: { type: "boolean", default: false }
  }
})
const api = values.url ?? ""
const concurrency = Number(values.concurrency)
const origin = new URL(api).origin
const ids = await (await fetch(`${origin}/_standin/apps`)).json()
const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
const headers = { "x-api-key": API_KEY, "x-phala-version": values.version, accept: "application/json" }

const get = (url) =>
  values.client === "undici" ? undiciFetch(url, { headers, dispatcher }) : fetch(url, { headers })

const listPass = async () => {
  const started = performance.now()
  let errors = 0
  let cvms = 0
  const read = async (page) => {
    const response = await get(`${api}/apps?page=${page}&page_size=100`)
    const body = JSON.parse(await response.text())
    if (response.status !== 200) errors += 1
    else for (const app of body.dstack_apps) cvms += Array.isArray(app.cvms) ? app.cvms.length : 0
    return body
  }
  const first = await read(1)
  const queue = Array.from({ length: Math.max(0, (first.total_pages ?? 1) - 1) }, (_, i) => i + 2).values()
  const worker = async () => {
    for (let next = queue.next(); !next.done; next = queue.next()) await read(next.value)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { ms: Math.round((performance.now() - started) * 10) / 10, errors, cvms }
}

const pass = async () => {
  if (values.list) return listPass()
  const queue = ids.values()
  let errors = 0
  let cvms = 0
  const worker = async () => {
    for (let next = queue.next(); !next.done; next = queue.next()) {
      const response = await get(`${api}/apps/${next.value}`)
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
