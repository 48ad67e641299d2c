import * as Headers from "@effect/platform/Headers"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Effect, Option } from "effect"
import { concat, readStreamBounded } from "../Support/BoundedStream.js"

/** A response body read up to a limit: the text, or the fact that there was more than the limit. */
export type BoundedBody =
  | { readonly _tag: "Complete"; readonly text: string }
  | { readonly _tag: "TooLarge"; readonly limit: number }

/**
 * Whether HTTP framing alone keeps the body within `limit`: a `Content-Length` no larger than it, on a body sent as
 * is (no `Content-Encoding`, whose inflated size no header states). The transport then delivers no more than that.
 */
export const framedWithin = (headers: Headers.Headers, limit: number): boolean =>
  framedBy((name) => Option.getOrNull(Headers.get(headers, name)), limit)

const framedBy = (header: (name: string) => string | null, limit: number): boolean => {
  if (header("content-encoding") !== null) return false
  const length = header("content-length")
  return length !== null && /^\d{1,15}$/.test(length.trim()) && Number(length) <= limit
}

const decoder = new TextDecoder()

/**
 * Reads at most `limit` bytes of the (decompressed) body. A body whose framing already bounds it is read in one go;
 * any other (chunked, compressed, or declared larger) is read through its stream, stopping at the first chunk that
 * would pass the limit: memory stays within the limit plus one chunk whatever the server sends (gzip bombs, endless
 * bodies). Ending the stream early aborts the request, so the rest is never downloaded.
 */
export const readBounded = (
  response: HttpClientResponse.HttpClientResponse,
  limit: number
): Effect.Effect<BoundedBody, HttpClientError.ResponseError> => {
  // the stream path costs a few Effect fibers per response; most answers are small and framed
  if (framedWithin(response.headers, limit)) {
    return Effect.map(response.arrayBuffer, (bytes): BoundedBody => ({ _tag: "Complete", text: decoder.decode(bytes) }))
  }
  return readStreamBounded(response.stream, limit).pipe(
    Effect.map((bytes): BoundedBody =>
      bytes === null ? { _tag: "TooLarge", limit } : { _tag: "Complete", text: decoder.decode(bytes) }
    ),
    // a response without a body (204, or one the platform could not stream) reads as empty, like `response.text`
    Effect.catchIf((error) => error.reason === "EmptyBody", () => Effect.succeed<BoundedBody>({ _tag: "Complete", text: "" }))
  )
}

/** `8 MiB`, `256 KiB`, `100000 bytes`: limits as an operator wrote them. */
export const formatBytes = (bytes: number): string => {
  const mib = 1024 * 1024
  if (bytes >= mib && bytes % mib === 0) return `${bytes / mib} MiB`
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`
  return `${bytes} bytes`
}

/**
 * `readBounded` for a `fetch` Response, as a plain promise: the request path reads every answer this way, without a
 * stream of Effect fibers per body. Cancelling the body at the limit aborts the request, so the rest is never read.
 */
export const readResponseBounded = async (response: Response, limit: number): Promise<BoundedBody> => {
  if (framedBy((name) => response.headers.get(name), limit)) {
    return { _tag: "Complete", text: decoder.decode(await response.arrayBuffer()) }
  }
  if (response.body === null) return { _tag: "Complete", text: "" }
  const reader = response.body.getReader()
  const chunks: Array<Uint8Array> = []
  let bytes = 0
  for (;;) {
    const read = await reader.read()
    if (read.done) break
    bytes += read.value.byteLength
    if (bytes > limit) {
      reader.cancel().catch(() => undefined)
      return { _tag: "TooLarge", limit }
    }
    chunks.push(read.value)
  }
  return { _tag: "Complete", text: decoder.decode(concat(chunks, bytes)) }
}
