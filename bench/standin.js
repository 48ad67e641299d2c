// A fast stand-in for the Phala Cloud API, for benchmarks: plain node:http in its own process, every body serialised
// once at start, so the server costs almost nothing next to the client under test. The fleet is the simulator's
// synthetic one (same ids, names and JSON shapes: built with dist/Simulator), N apps × CVMS CVMs.
//   GET /api/v1/apps/{app_id}                one app, in the version X-Phala-Version asks for (2025-10-28 or 2026-01-21)
//   GET /api/v1/apps?page=&page_size=        the list as reference §2.5 pages it (page ≥ 1, page_size 1..100, default 20)
//   GET /_standin/apps                       the app ids, in list order
//   GET /_standin/stats, PUT /_standin/latency?ms=   requests served so far; the latency of every API answer
//   PUT /_standin/apps/{app_id}/cvms/{vm_uuid}/status  {"status": "stopped"}: sets a CVM's status (steady, as the
//                                            simulator's /_sim/ route of the same path does); later reads show it
//   GET /_standin/apps/{app_id}/reads        {count, last_ms}: single-app reads of it so far, epoch ms of the last
// Usage: node bench/standin.js --apps N [--cvms 2] [--latency-ms 20] [--port 0] [--seed 42]
// Prints one JSON line {"port":…,"apps":…} on stdout once it listens. Loopback only.
import { createServer } from "node:http"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { API_KEY, DIST, HOST } from "./lib.js"

const { values } = parseArgs({
  options: {
    apps: { type: "string", default: "1000" },
    cvms: { type: "string", default: "2" },
    "latency-ms": { type: "string", default: "0" },
    port: { type: "string", default: "0" },
    seed: { type: "string", default: "42" }
  }
})
const apps = Number(values.apps)
let latencyMs = Number(values["latency-ms"])

const { Effect, Either } = await import("effect")
const { decodeScenario } = await import(join(DIST, "Simulator", "Scenario.js"))
const { makeWorld } = await import(join(DIST, "Simulator", "World.js"))
const Responses = await import(join(DIST, "Simulator", "Responses.js"))

const scenario = Effect.runSync(decodeScenario({
  api_keys: [API_KEY],
  default_version: "2025-10-28",
  synthetic: { apps, cvms_per_app: Number(values.cvms), seed: Number(values.seed), name_prefix: "bench-app" }
}))
const world = Either.getOrThrow(makeWorld(scenario, Date.now()))
const versions = ["2025-10-28", "2026-01-21"]
const records = [...world.apps.values()]
const ids = records.map((a) => a.appId)
/** version → app id → body; list pages are cut from the same bodies. */
const bodies = new Map(versions.map((v) => [v, new Map(records.map((a) => [a.appId, Buffer.from(JSON.stringify(Responses.appBody(a, v, world.settings.seed)))]))]))
const inOrder = new Map(versions.map((v) => [v, ids.map((id) => bodies.get(v).get(id))]))
const pages = new Map()
const byId = new Map(records.map((a, i) => [a.appId, i]))
/** app id → reads of `/api/v1/apps/{app_id}`, to see when a pushed event made the daemon re-read it. */
const reads = new Map()

const json = (value) => Buffer.from(JSON.stringify(value))
const notFound = json({ detail: "App not found" })
const routeNotFound = json({ detail: "Not Found" })
const unauthenticated = json({ detail: "Authentication required" })
const invalidKey = json({ detail: "Invalid API key" })

/** Pydantic's integer parsing and bounds, with its messages (as the simulator answers). */
const queryInt = (name, raw, fallback, ge, le) => {
  if (raw === null) return { value: fallback }
  const loc = ["query", name]
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) return { issue: { loc, msg: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing", input: raw } }
  const value = Number.parseInt(raw, 10)
  if (value < ge) return { issue: { loc, msg: `Input should be greater than or equal to ${ge}`, type: "greater_than_equal", input: raw, ctx: { ge } } }
  if (le !== null && value > le) return { issue: { loc, msg: `Input should be less than or equal to ${le}`, type: "less_than_equal", input: raw, ctx: { le } } }
  return { value }
}

const listPage = (version, page, size) => {
  const key = `${version}/${page}/${size}`
  const hit = pages.get(key)
  if (hit !== undefined) return hit
  const slice = inOrder.get(version).slice((page - 1) * size, page * size)
  const parts = [Buffer.from("{\"dstack_apps\":[")]
  slice.forEach((b, i) => parts.push(i === 0 ? b : Buffer.concat([Buffer.from(","), b])))
  parts.push(Buffer.from(`],"page":${page},"page_size":${size},"total":${ids.length},"total_pages":${Math.ceil(ids.length / size)}}`))
  const body = Buffer.concat(parts)
  // keep the sweep's pages; other sizes are cut again when asked
  if (size === 100) pages.set(key, body)
  return body
}

let served = 0

const readBody = (req) => new Promise((resolveBody, reject) => {
  let text = ""
  req.setEncoding("utf8").on("data", (d) => { text += d }).once("end", () => resolveBody(text)).once("error", reject)
})

const setStatus = async (req, res, appId, vmUuid) => {
  let status
  try {
    status = JSON.parse(await readBody(req)).status
  } catch {
    status = undefined
  }
  if (typeof status !== "string" || status === "") return send(res, 422, json({ detail: "body must be {\"status\": <non-empty string>}" }))
  const index = byId.get(appId)
  const app = index === undefined ? undefined : records[index]
  if (app === undefined || !app.cvms.some((c) => c.vmUuid === vmUuid)) return send(res, 404, json({ detail: "No such CVM" }))
  const next = { ...app, cvms: app.cvms.map((c) => (c.vmUuid === vmUuid ? { ...c, status, updatedAt: Date.now(), operation: null } : c)) }
  records[index] = next
  for (const v of versions) {
    const body = Buffer.from(JSON.stringify(Responses.appBody(next, v, world.settings.seed)))
    bodies.get(v).set(appId, body)
    inOrder.get(v)[index] = body
  }
  pages.clear()
  return send(res, 200, json({ app_id: appId, vm_uuid: vmUuid, status }))
}
const send = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json", "content-length": body.byteLength })
  res.end(body)
}

const answer = (req, res) => {
  const url = new URL(req.url ?? "/", "http://standin")
  const path = url.pathname
  if (path === "/_standin/apps") return send(res, 200, json(ids))
  if (path === "/_standin/stats") return send(res, 200, json({ served, latency_ms: latencyMs }))
  if (path === "/_standin/latency" && req.method === "PUT") {
    latencyMs = Number(url.searchParams.get("ms") ?? 0)
    return send(res, 200, json({ latency_ms: latencyMs }))
  }
  const admin = path.match(/^\/_standin\/apps\/([^/]+)\/(?:cvms\/([^/]+)\/status|(reads))$/)
  if (admin !== null && admin[3] === undefined && req.method === "PUT") return void setStatus(req, res, admin[1], admin[2])
  if (admin !== null && admin[3] === "reads" && req.method === "GET") return send(res, 200, json(reads.get(admin[1]) ?? { count: 0, last_ms: null }))
  if (req.method !== "GET" || !path.startsWith("/api/v1/apps")) return send(res, 404, routeNotFound)
  const key = String(req.headers["x-api-key"] ?? "").trim()
  if (key === "") return send(res, 401, unauthenticated)
  if (key !== API_KEY) return send(res, 401, invalidKey)
  const asked = String(req.headers["x-phala-version"] ?? "").trim()
  const version = versions.includes(asked) ? asked : "2025-10-28"
  served += 1
  const reply = (status, body) => (latencyMs > 0 ? setTimeout(() => send(res, status, body), latencyMs) : send(res, status, body))
  if (path === "/api/v1/apps") {
    const page = queryInt("page", url.searchParams.getAll("page").at(-1) ?? null, 1, 1, null)
    const size = queryInt("page_size", url.searchParams.getAll("page_size").at(-1) ?? null, 20, 1, 100)
    const issues = [page, size].flatMap((c) => ("issue" in c ? [c.issue] : []))
    if (issues.length > 0) return reply(422, json(Responses.validationError(issues)))
    return reply(200, listPage(version, page.value, size.value))
  }
  const id = path.slice("/api/v1/apps/".length)
  reads.set(id, { count: (reads.get(id)?.count ?? 0) + 1, last_ms: Date.now() })
  const body = bodies.get(version).get(id)
  return reply(body === undefined ? 404 : 200, body ?? notFound)
}

const server = createServer(answer)
server.keepAliveTimeout = 60_000
server.headersTimeout = 65_000
server.listen(Number(values.port), HOST, () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port, apps: ids.length })}\n`)
})
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => server.close(() => process.exit(0)))
