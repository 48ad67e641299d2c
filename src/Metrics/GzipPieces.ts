/**
 * One gzip stream assembled from pieces compressed on their own (the pigz way): each piece is raw deflate ending in a
 * sync flush, so pieces concatenate into one valid deflate stream; the trailer's CRC-32 is combined from the pieces'
 * CRCs without reading the data again. A changed piece is recompressed alone, and every client reads the result as
 * an ordinary single-member gzip body.
 */
import { promisify } from "node:util"
import * as zlib from "node:zlib"

const deflateRaw = promisify(zlib.deflateRaw)

export interface GzipPiece {
  /** Raw deflate, ends with a sync flush (never a final block). */
  readonly deflated: Buffer
  readonly crc: number
  /** Bytes before compression. */
  readonly length: number
}

export const emptyPiece: GzipPiece = { deflated: Buffer.alloc(0), crc: 0, length: 0 }

// Level 1: on exposition text 2.3x faster than zlib's default 6 for 3-4 % more bytes (bench/store.js)
const options: zlib.ZlibOptions = { level: 1, finishFlush: zlib.constants.Z_SYNC_FLUSH }

/**
 * zlib hands back a view of its output chunk (16 KiB on Node 20, 64 KiB on Node 24) when the result fits in one; kept
 * as is, every small piece would hold a whole chunk (27 MB at 10,000 apps on Node 20). The copy is made outside
 * Buffer's pool: a pooled copy pins its 8 KiB (Node 20) or 64 KiB (Node 24) slab for as long as the piece lives, and
 * pieces replaced one by one over many publishes left slabs pinned by a few survivors each.
 */
const exact = (b: Buffer): Buffer => {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.byteLength) return b
  const own = Buffer.allocUnsafeSlow(b.byteLength)
  b.copy(own)
  return own
}

/** Compresses a piece on the libuv thread pool. */
export const deflatePiece = async (plain: Uint8Array): Promise<GzipPiece> =>
  plain.byteLength === 0
    ? emptyPiece
    : { deflated: exact(await deflateRaw(plain, options)), crc: zlib.crc32(plain), length: plain.byteLength }

/** For small pieces (headers, the per-scrape telemetry), on the calling thread. */
export const deflatePieceSync = (plain: Uint8Array): GzipPiece =>
  plain.byteLength === 0
    ? emptyPiece
    : { deflated: exact(zlib.deflateRawSync(plain, options)), crc: zlib.crc32(plain), length: plain.byteLength }

// a piece ends in a sync flush, not a final block: inflating it stops there without calling the stream truncated
const inflateOptions: zlib.ZlibOptions = { finishFlush: zlib.constants.Z_SYNC_FLUSH }
const noBytes = Buffer.alloc(0)

/** The text of a piece again, on the calling thread (a piece is a few tens of KB). */
export const inflatePieceSync = (piece: GzipPiece): Buffer =>
  piece.length === 0 ? noBytes : zlib.inflateRawSync(piece.deflated, inflateOptions)

// == CRC-32 combination (GF(2) polynomial arithmetic modulo the CRC-32 polynomial, as zlib's crc32_combine)

const POLY = 0xedb88320

/** a(x) · b(x) mod p(x), bit-reflected. */
const multModP = (a: number, b: number): number => {
  let m = 0x80000000
  let p = 0
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b
      if ((a & (m - 1)) === 0) break
    }
    m >>>= 1
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLY : b >>> 1
  }
  return p >>> 0
}

/** x^(2^k) mod p(x) for k = 0..31. */
const x2nTable: ReadonlyArray<number> = (() => {
  const table = [1 << 30]
  for (let k = 1; k < 32; k++) table.push(multModP(table[k - 1] ?? 0, table[k - 1] ?? 0))
  return table
})()

/** x^(n · 2^k) mod p(x). */
const x2nModP = (n: number, k: number): number => {
  let p = 0x80000000
  while (n > 0) {
    if (n % 2 === 1) p = multModP(x2nTable[k & 31] ?? 0, p)
    n = Math.floor(n / 2)
    k += 1
  }
  return p
}

/** The CRC-32 of A followed by B, from crc(A), crc(B) and the length of B. */
export const crc32Combine = (crcA: number, crcB: number, lengthB: number): number =>
  (multModP(x2nModP(lengthB, 3), crcA) ^ crcB) >>> 0

// == the stream around the pieces

// magic, deflate, no flags, no mtime (the body must not depend on when it was built), no extra flags, OS unknown
export const gzipHeader: Buffer = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])

// an empty fixed-Huffman block with BFINAL set: ends the deflate stream after the last sync flush
export const finalBlock: Buffer = Buffer.from([0x03, 0x00])

/** CRC-32 and ISIZE (length mod 2^32), little-endian. */
export const gzipTrailer = (crc: number, length: number): Buffer => {
  const trailer = Buffer.alloc(8)
  trailer.writeUInt32LE(crc >>> 0, 0)
  trailer.writeUInt32LE(length % 2 ** 32, 4)
  return trailer
}

/** CRC and total length of pieces (or runs of pieces) in order. */
export const combinePieces = (pieces: Iterable<{ readonly crc: number; readonly length: number }>, start: { crc: number; length: number } = { crc: 0, length: 0 }) => {
  let crc = start.crc
  let length = start.length
  for (const piece of pieces) {
    if (piece.length === 0) continue
    crc = crc32Combine(crc, piece.crc, piece.length)
    length += piece.length
  }
  return { crc, length }
}
