/**
 * A hostile stand-in for the Phala Cloud API on loopback: each declared app id answers with a named misbehaviour
 * (gzip bomb, endless body, redirects, proxy 404s, another app's body, key echo, ...), so tests can prove that one
 * app's answer never crashes the process, grows its memory, fakes drift or leaks the key, and that the other apps
 * carry on. A second server on another port stands for "another origin" and records what reaches it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { gzipSync } from "node:zlib"

export type Behaviour =
  /** A valid 2025-10-28 body with one running CVM; `name` / `status` / `cvmName` override the usual values. */
  | { readonly kind: "ok"; readonly name?: string; readonly status?: string; readonly cvmName?: string }
  /** ~2 MB of gzip (`Content-Encoding: gzip`) that inflates to `inflatedGiB` GiB of valid JSON whitespace. */
  | { readonly kind: "gzip_bomb"; readonly inflatedGiB?: number }
  /** A chunked body that never ends, written as fast as the client reads. */
  | { readonly kind: "endless_body" }
  /** A valid body padded to `bytes` (with Content-Length), streamed. */
  | { readonly kind: "huge_body"; readonly bytes: number }
  /** `Content-Length: 64` on a body that goes on for `bytes` (raw socket writes): framing must cut it at 64. */
  | { readonly kind: "lying_length"; readonly bytes: number }
  /** A valid body whose app name is `bytes` long (and its CVM's name 1000 characters). */
  | { readonly kind: "huge_name"; readonly bytes: number }
  /** 301 to the other origin (which answers 404 `App not found`). */
  | { readonly kind: "redirect_other_origin" }
  /** 307 to another path of the same origin. */
  | { readonly kind: "redirect_same_origin" }
  /** 302 to the very same URL, forever. */
  | { readonly kind: "redirect_loop" }
  /** 404 with a proxy's HTML page. */
  | { readonly kind: "html_404" }
  /** 404 `{"detail":"Not Found"}`: FastAPI's answer for a path no route matches. */
  | { readonly kind: "route_404" }
  /** 404 `{"detail":"App not found"}`: the API's own answer about an unknown app. */
  | { readonly kind: "app_not_found" }
  /** 200 with another app's body. */
  | { readonly kind: "wrong_app_id" }
  /** 200 `DstackAppMinimalResponse`: `cvms`, `cvm_count`, `current_cvm` all null. */
  | { readonly kind: "minimal" }
  /** 200 with `depth` nested arrays, in a field the client ignores or in `cvms`. */
  | { readonly kind: "deep_nesting"; readonly depth: number; readonly where: "ignored_field" | "cvms" }
  /** The key sent back in upper case: in the name, the CVM status and name (200), or in an error text (`status`). */
  | { readonly kind: "key_echo"; readonly status?: number }
  /** `status` (429 or 503) with this `Retry-After`, every time. */
  | { readonly kind: "retry_after"; readonly status: 429 | 503; readonly value: string }
  /** Accepts the request and never answers. */
  | { readonly kind: "hang" }

export interface SeenRequest {
  readonly method: string
  readonly path: string
  /** The `X-API-Key` header as received, if any. */
  readonly apiKey: string | null
}

export interface HostileApiOptions {
  /** The only key the API accepts (401 `Invalid API key` otherwise). */
  readonly apiKey: string
  readonly apps: Readonly<Record<string, Behaviour>>
  /** How `GET {prefix}/apps` answers (the base URL probe): a page of the list, or FastAPI's route 404. */
  readonly list?: "ok" | "route_404"
}

export interface HostileApi {
  /** `http://127.0.0.1:<port>/api/v1`, the base URL a client should use. */
  readonly apiUrl: string
  readonly origin: string
  /** The other origin, where `redirect_other_origin` points. */
  readonly otherOrigin: string
  /** Requests to the API, in arrival order. */
  readonly requests: ReadonlyArray<SeenRequest>
  /** Requests that reached the other origin. */
  readonly otherRequests: ReadonlyArray<SeenRequest>
  /** Responses whose body the client stopped reading (the connection closed before the body was written). */
  readonly abortedBodies: () => number
  readonly close: () => Promise<void>
}

export const prefix = "/api/v1"

const cvm = (appId: string, index: number, overrides: { readonly name?: string; readonly status?: string } = {}) => ({
  vm_uuid: `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`,
  app_id: appId,
  name: overrides.name ?? `cvm-${index}`,
  status: overrides.status ?? "running",
  vcpu: 2,
  memory: 4096,
  disk_size: 20,
  teepod_id: 11,
  teepod_name: "prod6",
  region_identifier: "EU-WEST-1",
  kms_type: "phala",
  instance_type: "tdx.medium",
  base_image: "dstack-0.5.5",
  machine_info: null
})

/** A 2025-10-28 `DstackAppFullResponse` with one CVM. */
export const appBody = (
  appId: string,
  overrides: { readonly name?: string; readonly status?: string; readonly cvmName?: string } = {}
): Record<string, unknown> => {
  const one = cvm(appId, 1, {
    ...(overrides.cvmName === undefined ? {} : { name: overrides.cvmName }),
    ...(overrides.status === undefined ? {} : { status: overrides.status })
  })
  return {
    id: "prj_Hostile01",
    name: overrides.name ?? `app-${appId.slice(0, 6)}`,
    app_id: appId,
    created_at: "2025-11-25T02:24:51.954322+00:00",
    kms_type: "phala",
    current_cvm: one,
    cvms: [one],
    cvm_count: 1
  }
}

const listBody = JSON.stringify({ dstack_apps: [], page: 1, page_size: 1, total: 0, total_pages: 0 })

const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

// One gzip member of 64 MiB of spaces compresses to ~64 KiB; members concatenate (RFC 1952), so the bomb is the
// JSON head, N of them, and the tail: valid JSON of any inflated size for a few MB on the wire.
let spaceMember: Buffer | undefined
const gzipBomb = (appId: string, inflatedGiB: number): Buffer => {
  spaceMember ??= gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20), { level: 9 })
  const members = Math.ceil((inflatedGiB * 1024) / 64)
  const head = gzipSync(Buffer.from(`{"app_id":${JSON.stringify(appId)},"cvms":[]`))
  const tail = gzipSync(Buffer.from("}"))
  return Buffer.concat([head, ...Array.from({ length: members }, () => spaceMember as Buffer), tail])
}

/** Writes `total` bytes produced by `chunk(i)` with backpressure, stopping when the client goes away. */
const stream = (res: ServerResponse, chunks: (i: number) => Buffer | null, onAbort: () => void) => {
  let i = 0
  let closed = false
  res.on("close", () => {
    closed = true
    if (!res.writableFinished) onAbort()
  })
  const pump = () => {
    while (!closed) {
      const next = chunks(i++)
      if (next === null) {
        res.end()
        return
      }
      if (!res.write(next)) {
        res.once("drain", pump)
        return
      }
    }
  }
  pump()
}

const chunkSize = 64 * 1024
const chunks = new Map<number, Buffer>()

/** `bytes` bytes of one character, as shared 64 KiB chunks (plus one shorter). */
const filler = (bytes: number, char: number): ReadonlyArray<Buffer> => {
  let chunk = chunks.get(char)
  if (chunk === undefined) {
    chunk = Buffer.alloc(chunkSize, char)
    chunks.set(char, chunk)
  }
  const full = Math.floor(bytes / chunkSize)
  const rest = bytes % chunkSize
  return [...Array.from({ length: full }, () => chunk), ...(rest === 0 ? [] : [chunk.subarray(0, rest)])]
}

const deepArray = (depth: number): string => "[".repeat(depth) + "]".repeat(depth)

export const startHostileApi = async (options: HostileApiOptions): Promise<HostileApi> => {
  const requests: Array<SeenRequest> = []
  const otherRequests: Array<SeenRequest> = []
  let aborted = 0
  const sockets = new Set<Socket>()
  const track = (server: Server) => server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })

  const seen = (req: IncomingMessage): SeenRequest => ({
    method: req.method ?? "GET",
    path: req.url ?? "",
    apiKey: typeof req.headers["x-api-key"] === "string" ? req.headers["x-api-key"] : null
  })

  const other = createServer((req, res) => {
    otherRequests.push(seen(req))
    sendJson(res, 404, { detail: "App not found" })
  })
  track(other)
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve))
  const otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`

  let origin = ""
  const answer = (req: IncomingMessage, res: ServerResponse, appId: string, behaviour: Behaviour) => {
    const key = options.apiKey
    const url = `${origin}${req.url ?? ""}`
    switch (behaviour.kind) {
      case "ok":
        return sendJson(res, 200, appBody(appId, behaviour))
      case "gzip_bomb": {
        const body = gzipBomb(appId, behaviour.inflatedGiB ?? 2)
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "content-length": body.length })
        const size = 64 * 1024
        return stream(res, (i) => (i * size >= body.length ? null : body.subarray(i * size, (i + 1) * size)), () => aborted++)
      }
      case "endless_body": {
        res.writeHead(200, { "content-type": "application/json" })
        const head = Buffer.from(`{"app_id":${JSON.stringify(appId)},"padding":"`)
        const [padding] = filler(chunkSize, 0x78)
        return stream(res, (i) => (i === 0 ? head : padding ?? null), () => aborted++)
      }
      case "huge_body": {
        const head = Buffer.from(JSON.stringify(appBody(appId)).slice(0, -1) + `,"padding":"`)
        const tail = Buffer.from(`"}`)
        const parts = [head, ...filler(Math.max(0, behaviour.bytes - head.length - tail.length), 0x78), tail]
        res.writeHead(200, { "content-type": "application/json", "content-length": behaviour.bytes })
        return stream(res, (i) => parts[i] ?? null, () => aborted++)
      }
      case "lying_length": {
        const socket = res.socket
        if (socket === null) return
        const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 64\r\n\r\n`
        const body = [Buffer.from(head + JSON.stringify(appBody(appId))), ...filler(behaviour.bytes, 0x78)]
        let i = 0
        const pump = () => {
          while (i < body.length && !socket.destroyed) {
            if (!socket.write(body[i++] ?? Buffer.alloc(0))) return void socket.once("drain", pump)
          }
          if (!socket.destroyed) socket.end()
        }
        socket.on("close", () => {
          if (i < body.length) aborted++
        })
        return pump()
      }
      case "huge_name": {
        // streamed: a 200 MB name must not cost this test process 200 MB strings
        const [before, after] = JSON.stringify(appBody(appId, { name: "@NAME@", cvmName: "c".repeat(1000) }))
          .split("@NAME@")
          .map((part) => Buffer.from(part))
        const parts = [before, ...filler(behaviour.bytes, 0x6e), after]
        const length = parts.reduce((n, part) => n + (part?.length ?? 0), 0)
        res.writeHead(200, { "content-type": "application/json", "content-length": length })
        return stream(res, (i) => parts[i] ?? null, () => aborted++)
      }
      case "redirect_other_origin":
        res.writeHead(301, { location: `${otherOrigin}${req.url ?? ""}`, "content-type": "text/plain" })
        return res.end("Moved Permanently")
      case "redirect_same_origin":
        res.writeHead(307, { location: `${prefix}/moved/apps/${appId}` })
        return res.end()
      case "redirect_loop":
        res.writeHead(302, { location: url })
        return res.end()
      case "html_404":
        res.writeHead(404, { "content-type": "text/html" })
        return res.end("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
      case "route_404":
        return sendJson(res, 404, { detail: "Not Found" })
      case "app_not_found":
        return sendJson(res, 404, { detail: "App not found" })
      case "wrong_app_id":
        return sendJson(res, 200, appBody("0123456789abcdef0123456789abcdef01234567"))
      case "minimal":
        return sendJson(res, 200, {
          id: null, name: null, app_id: appId, app_provision_type: null, app_icon_url: null, created_at: null,
          kms_type: null, profile: null, current_cvm: null, cvms: null, cvm_count: null
        })
      case "deep_nesting": {
        const body = JSON.stringify(appBody(appId))
        const nested = behaviour.where === "cvms"
          ? body.replace(/"cvms":\[.*?\],"cvm_count"/, `"cvms":${deepArray(behaviour.depth)},"cvm_count"`)
          : `${body.slice(0, -1)},"extra":${deepArray(behaviour.depth)}}`
        res.writeHead(200, { "content-type": "application/json" })
        return res.end(nested)
      }
      case "key_echo": {
        const loud = key.toUpperCase()
        if (behaviour.status !== undefined && behaviour.status !== 200) {
          return sendJson(res, behaviour.status, { detail: `key ${loud} is not allowed here` })
        }
        return sendJson(res, 200, appBody(appId, { name: `app of ${loud}`, status: loud, cvmName: `cvm-${key.toLowerCase()}` }))
      }
      case "retry_after":
        return sendJson(res, behaviour.status, { detail: "slow down" }, { "retry-after": behaviour.value })
      case "hang":
        return
    }
  }

  const api = createServer((req, res) => {
    requests.push(seen(req))
    const url = new URL(req.url ?? "/", "http://hostile")
    if (url.pathname === `${prefix}/apps` && req.method === "GET") {
      if (options.list === "route_404") return sendJson(res, 404, { detail: "Not Found" })
      if (req.headers["x-api-key"] !== options.apiKey) return sendJson(res, 401, { detail: "Invalid API key" })
      res.writeHead(200, { "content-type": "application/json" })
      return res.end(listBody)
    }
    const match = new RegExp(`^${prefix}/apps/([^/]+)$`).exec(url.pathname)
    const appId = match?.[1]
    if (appId === undefined || req.method !== "GET") return sendJson(res, 404, { detail: "Not Found" })
    if (req.headers["x-api-key"] !== options.apiKey) return sendJson(res, 401, { detail: "Invalid API key" })
    return answer(req, res, appId, options.apps[appId] ?? { kind: "app_not_found" })
  })
  track(api)
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve))
  origin = `http://127.0.0.1:${(api.address() as AddressInfo).port}`

  return {
    apiUrl: `${origin}${prefix}`,
    origin,
    otherOrigin,
    requests,
    otherRequests,
    abortedBodies: () => aborted,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await Promise.all([api, other].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
    }
  }
}
