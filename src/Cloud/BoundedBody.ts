import type { HttpClientError, HttpClientResponse } from "@effect/platform"
import { Effect, Stream } from "effect"

/** A response body read up to a limit: the text, or the fact that there was more than the limit. */
export type BoundedBody =
  | { readonly _tag: "Complete"; readonly text: string }
  | { readonly _tag: "TooLarge"; readonly limit: number }

interface Accumulated {
  readonly chunks: Array<Uint8Array>
  readonly bytes: number
  readonly over: boolean
}

const concat = (chunks: ReadonlyArray<Uint8Array>, bytes: number): Uint8Array => {
  const all = new Uint8Array(bytes)
  let at = 0
  for (const chunk of chunks) {
    all.set(chunk, at)
    at += chunk.length
  }
  return all
}

/**
 * Reads the body through its stream (already decompressed by the HTTP client) and stops at the first chunk that
 * would take it past `limit` bytes: memory stays within the limit plus one chunk whatever the server sends (gzip
 * bombs, endless chunked bodies). Ending the stream early aborts the request, so the connection is not drained.
 */
export const readBounded = (
  response: HttpClientResponse.HttpClientResponse,
  limit: number
): Effect.Effect<BoundedBody, HttpClientError.ResponseError> => {
  const initial: Accumulated = { chunks: [], bytes: 0, over: false }
  return Stream.runFoldWhile(
    response.stream,
    initial,
    (acc) => !acc.over,
    (acc, chunk) => {
      const bytes = acc.bytes + chunk.length
      if (bytes > limit) return { ...acc, over: true }
      acc.chunks.push(chunk)
      return { chunks: acc.chunks, bytes, over: false }
    }
  ).pipe(
    Effect.map((acc): BoundedBody =>
      acc.over
        ? { _tag: "TooLarge", limit }
        : { _tag: "Complete", text: new TextDecoder().decode(concat(acc.chunks, acc.bytes)) }
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
