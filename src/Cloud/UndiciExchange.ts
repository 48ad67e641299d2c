/**
 * One GET on an undici dispatcher, read straight from its handler callbacks: no `Response`, no web stream, no
 * `AbortSignal`. It is what every API read of a cycle costs, so it is kept to what the answer needs: the status,
 * the headers, and the body within the limit its status allows. A compressed body is inflated as it arrives and
 * counted after inflation (gzip bombs stop at the limit); a body that passes the limit aborts the request, so the
 * rest is never downloaded. Redirects are answers like any other: a dispatcher never follows them.
 */
import type { IncomingHttpHeaders } from "node:http"
import * as zlib from "node:zlib"
import type { Dispatcher } from "undici"
import type { AnswerHeaders, ApiAnswer, Exchange, TransportFailure } from "./ApiTransport.js"
import type { BoundedBody } from "./BoundedBody.js"

/** A decoder of one content coding. */
type Decoder = zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress

const decoder = new TextDecoder()

class ReceivedHeaders implements AnswerHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()]
    if (value === undefined) return null
    return Array.isArray(value) ? value.join(", ") : value
  }
}

/** Decoders for a `Content-Encoding`, the last applied first; none for identity or a coding fetch would not undo either. */
const decodersFor = (header: string | null): Array<Decoder> => {
  if (header === null) return []
  const decoders: Array<Decoder> = []
  for (const coding of header.toLowerCase().split(",").map((c) => c.trim()).reverse()) {
    if (coding === "" || coding === "identity") continue
    if (coding === "gzip" || coding === "x-gzip") decoders.push(zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH }))
    else if (coding === "deflate") decoders.push(zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH }))
    else if (coding === "br") decoders.push(zlib.createBrotliDecompress())
    else return []
  }
  return decoders
}

const aborted = () => new Error("request aborted")

class BoundedHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null
  private abortRequested = false
  private settled = false
  private status = 0
  private headers: AnswerHeaders | null = null
  private limit = 0
  private chunks: Array<Buffer> = []
  private bytes = 0
  private decoders: Array<Decoder> = []

  constructor(
    private readonly url: string,
    private readonly bodyLimit: (status: number) => number,
    private readonly onAnswer: (answer: ApiAnswer) => void,
    private readonly onFailure: (failure: TransportFailure) => void
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.abortRequested) controller.abort(aborted())
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // informational answers come before the one that counts
    if (statusCode < 200) return
    this.status = statusCode
    this.headers = new ReceivedHeaders(headers)
    this.limit = this.bodyLimit(statusCode)
    this.decoders = decodersFor(this.headers.get("content-encoding"))
    const last = this.decoders.reduce<Decoder | null>((previous, next) => {
      if (previous !== null) previous.pipe(next)
      return next
    }, null)
    if (last === null) return
    for (const decoder of this.decoders) decoder.on("error", (cause: unknown) => this.fail("ResponseError", cause))
    last.on("data", (chunk: Buffer) => this.take(chunk))
    last.on("end", () => this.complete())
    // the inflater keeps up with the socket, or the socket waits for it
    this.decoders[0]?.on("drain", () => controller.resume())
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return
    const first = this.decoders[0]
    if (first === undefined) this.take(chunk)
    else if (!first.write(chunk)) controller.pause()
  }

  onResponseEnd(): void {
    const first = this.decoders[0]
    if (first === undefined) this.complete()
    else first.end()
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(this.headers === null ? "RequestError" : "ResponseError", error)
  }

  abort(): void {
    if (this.abortRequested) return
    this.abortRequested = true
    this.settled = true
    this.release()
    this.controller?.abort(aborted())
  }

  private take(chunk: Buffer): void {
    if (this.settled) return
    this.bytes += chunk.byteLength
    if (this.bytes > this.limit) {
      this.answer({ _tag: "TooLarge", limit: this.limit })
      this.abort()
      return
    }
    this.chunks.push(chunk)
  }

  private complete(): void {
    if (this.settled) return
    const bytes = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bytes)
    this.answer({ _tag: "Complete", text: bytes === undefined ? "" : decoder.decode(bytes) })
  }

  private answer(body: BoundedBody): void {
    if (this.settled || this.headers === null) return
    this.settled = true
    this.chunks = []
    this.onAnswer({ url: this.url, status: this.status, headers: this.headers, body })
  }

  private fail(tag: TransportFailure["_tag"], cause: unknown): void {
    if (this.settled) return
    this.settled = true
    this.release()
    this.onFailure({ _tag: tag, cause })
  }

  private release(): void {
    this.chunks = []
    for (const decoder of this.decoders) decoder.destroy()
    this.decoders = []
  }
}

const noop = () => undefined

/**
 * GETs on an undici dispatcher (keep-alive connections, redirects handed back): what the client uses. Each calls
 * `onAnswer` or `onFailure` once, unless its abort comes first. A URL that is not plain http(s), or carries
 * credentials, fails as `fetch` would refuse it.
 */
export const dispatchExchange = (dispatcher: Dispatcher, headers: Readonly<Record<string, string>>): Exchange =>
(url, bodyLimit, onAnswer, onFailure) => {
  let target: URL
  try {
    target = new URL(url)
  } catch (cause) {
    onFailure({ _tag: "RequestError", cause })
    return noop
  }
  if ((target.protocol !== "http:" && target.protocol !== "https:") || target.username !== "" || target.password !== "") {
    onFailure({ _tag: "RequestError", cause: new TypeError("not an http(s) URL without credentials") })
    return noop
  }
  const handler = new BoundedHandler(url, bodyLimit, onAnswer, onFailure)
  try {
    dispatcher.dispatch({ origin: target.origin, path: `${target.pathname}${target.search}`, method: "GET", headers }, handler)
  } catch (cause) {
    onFailure({ _tag: "RequestError", cause })
    return noop
  }
  return () => handler.abort()
}
