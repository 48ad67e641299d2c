import { Effect, Stream } from "effect"

interface Accumulated {
  readonly chunks: Array<Uint8Array>
  readonly bytes: number
  readonly over: boolean
}

/** The chunks as one array of `bytes` bytes. */
export const concat = (chunks: ReadonlyArray<Uint8Array>, bytes: number): Uint8Array => {
  const all = new Uint8Array(bytes)
  let at = 0
  for (const chunk of chunks) {
    all.set(chunk, at)
    at += chunk.length
  }
  return all
}

/**
 * The bytes of `stream`, or null as soon as they would pass `limit`: memory stays within the limit plus one chunk
 * whatever the peer sends, and the rest is never read.
 */
export const readStreamBounded = <E, R>(stream: Stream.Stream<Uint8Array, E, R>, limit: number): Effect.Effect<Uint8Array | null, E, R> => {
  const initial: Accumulated = { chunks: [], bytes: 0, over: false }
  return Stream.runFoldWhile(stream, initial, (acc) => !acc.over, (acc, chunk) => {
    const bytes = acc.bytes + chunk.length
    if (bytes > limit) return { ...acc, over: true }
    acc.chunks.push(chunk)
    return { chunks: acc.chunks, bytes, over: false }
  }).pipe(Effect.map((acc) => (acc.over ? null : concat(acc.chunks, acc.bytes))))
}
