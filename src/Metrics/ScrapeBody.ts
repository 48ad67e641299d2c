/**
 * The body of one `GET /metrics`: the cached object-state pieces as they are, then the self-telemetry rendered for
 * this scrape. Nothing is concatenated: the chunks are written one after another, and the gzip form is the cached
 * deflate pieces plus the telemetry compressed alone, closed with one CRC combined from theirs.
 */
import { combinePieces, deflatePieceSync, finalBlock, gzipHeader, gzipTrailer } from "./GzipPieces.js"
import { deflatedChunks, type ObjectExposition, plainChunks } from "./Store.js"
import { contentType } from "./TextFormat.js"

export interface ScrapeBody {
  readonly chunks: ReadonlyArray<Uint8Array>
  readonly byteLength: number
  readonly contentEncoding: "gzip" | null
  readonly contentType: string
}

const total = (chunks: ReadonlyArray<Uint8Array>): number => chunks.reduce((n, c) => n + c.byteLength, 0)

/** `telemetry`: the text of the self-telemetry registry (prom-client's `registry.metrics()`), rendered now. */
export const scrapeBody = (objects: ObjectExposition, telemetry: string, gzip: boolean): ScrapeBody => {
  const tail = Buffer.from(telemetry, "utf8")
  if (!gzip) {
    const chunks = tail.byteLength === 0 ? plainChunks(objects) : [...plainChunks(objects), tail]
    return { chunks, byteLength: objects.plainLength + tail.byteLength, contentEncoding: null, contentType }
  }
  const piece = deflatePieceSync(tail)
  const { crc, length } = combinePieces([piece], { crc: objects.crc, length: objects.plainLength })
  const chunks = [gzipHeader, ...deflatedChunks(objects), piece.deflated, finalBlock, gzipTrailer(crc, length)]
  return { chunks, byteLength: total(chunks), contentEncoding: "gzip", contentType }
}

