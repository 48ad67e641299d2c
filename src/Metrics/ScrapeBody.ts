/**
 * The body of one `GET /metrics`: the cached object-state pieces, then the self-telemetry rendered for this scrape.
 * Nothing is concatenated: the gzip form is the cached deflate pieces as they are plus the telemetry compressed alone,
 * closed with one CRC combined from theirs; the plain form inflates the pieces one after another as it is written.
 */
import type { ScrapeBody } from "../Runtime/MetricsView.js"
import { combinePieces, deflatePieceSync, finalBlock, type GzipPiece, gzipHeader, gzipTrailer } from "./GzipPieces.js"
import { deflatedChunks, type ObjectExposition, plainChunks } from "./Store.js"
import { contentType } from "./TextFormat.js"

export type { ScrapeBody }

const total = (chunks: ReadonlyArray<Uint8Array>): number => chunks.reduce((n, c) => n + c.byteLength, 0)

/** One rendering of the self-telemetry, shared by the scrapes it serves; compressed once, when first asked. */
export class Telemetry {
  readonly plain: Buffer
  private piece: GzipPiece | null = null
  constructor(text: string) {
    this.plain = Buffer.from(text, "utf8")
  }
  get deflated(): GzipPiece {
    return (this.piece ??= deflatePieceSync(this.plain))
  }
}

/** `telemetry`: the text of the self-telemetry registry (prom-client's `registry.metrics()`), rendered now. */
export const scrapeBody = (objects: ObjectExposition, telemetry: Telemetry | string, gzip: boolean): ScrapeBody => {
  const rendered = typeof telemetry === "string" ? new Telemetry(telemetry) : telemetry
  const tail = rendered.plain
  if (!gzip) {
    const chunks = async function*() {
      yield* plainChunks(objects)
      if (tail.byteLength > 0) yield tail
    }
    return { chunks, byteLength: objects.plainLength + tail.byteLength, contentEncoding: null, contentType }
  }
  const piece = rendered.deflated
  const { crc, length } = combinePieces([piece], { crc: objects.crc(), length: objects.plainLength })
  const cached = [gzipHeader, ...deflatedChunks(objects), piece.deflated, finalBlock, gzipTrailer(crc, length)]
  const chunks = async function*() {
    yield* cached
  }
  return { chunks, byteLength: total(cached), contentEncoding: "gzip", contentType }
}

