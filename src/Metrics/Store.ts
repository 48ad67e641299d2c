/**
 * The object-state metric store, kube-state-metrics style: every app's series are rendered once per change and kept as
 * bytes, never as prom-client series. Apps are kept in groups of `groupSize`; per group and family the store holds one
 * piece, compressed: at 10,000 apps the text is ~85 MB and its compressed pieces ~9 MB, and gzip is what Prometheus
 * asks for. An upsert only records what changed; `publish` re-renders the changed families of the changed apps,
 * rebuilds just the pieces they sit in (inflating the old piece when other apps' text must be kept), recompresses
 * them, and swaps in a new `ObjectExposition`: per family, arrays of references to its pieces, remade only for the
 * families that changed. The work is O(changed apps × group size) plus O(groups) reference copies per changed family.
 * A plain scrape inflates the pieces as it writes them.
 */
import type { AppReport, Snapshot } from "../Core/Domain/Report.js"
import type { SeriesInput } from "./AppSeries.js"
import { appSeriesInput, families, familyHeaders, identityLabels, sameSegment } from "./AppSeries.js"
import type { GzipPiece } from "./GzipPieces.js"
import { Readable } from "node:stream"
import { constants, createInflateRaw } from "node:zlib"
import { combinePieces, deflatePiece, deflatePieceSync, emptyPiece, inflatePieceSync } from "./GzipPieces.js"

/** One family of the exposition: its header and pieces in order, compressed, with the family's text length. */
export interface FamilyExposition {
  readonly pieces: ReadonlyArray<GzipPiece>
  readonly length: number
  /** CRC-32 of the family's text, combined from its pieces' when a gzip scrape first needs it (see `crc`). */
  readonly crc: () => number
}

/**
 * The cached object-state exposition of one publish. Combining the CRCs of a family's pieces costs a few
 * microseconds each, thousands per family at 10,000 apps: done per publish, it made one webhook event cost
 * milliseconds; done when a gzip scrape asks, a burst of publishes pays once.
 */
export interface ObjectExposition {
  readonly generation: number
  readonly families: ReadonlyArray<FamilyExposition>
  readonly plainLength: number
  /** CRC-32 of the whole plain text, combined from the families' (memoised). */
  readonly crc: () => number
}

const once = <A>(f: () => A): (() => A) => {
  let value: { readonly a: A } | null = null
  return () => (value ??= { a: f() }).a
}

// Made here, not inside `assemble`: a closure made there would share assemble's scope, which holds the previous
// exposition, and every exposition would keep the one before it alive, and so every exposition ever published.
const familyExposition = (pieces: ReadonlyArray<GzipPiece>, length: number): FamilyExposition => ({
  pieces,
  length,
  crc: once(() => combinePieces(pieces).crc)
})

const objectExposition = (generation: number, families: ReadonlyArray<FamilyExposition>): ObjectExposition => {
  let plainLength = 0
  for (const family of families) plainLength += family.length
  return {
    generation,
    families,
    plainLength,
    crc: once(() => combinePieces(families.map((family) => ({ crc: family.crc(), length: family.length }))).crc)
  }
}

/** The raw deflate stream of an exposition as chunks (no gzip header or trailer), in order. */
export const deflatedChunks = (exposition: ObjectExposition): ReadonlyArray<Buffer> =>
  exposition.families.flatMap((f) => f.pieces.map((piece) => piece.deflated))

/**
 * The plain text of an exposition, inflated as it is read. The pieces end in sync flushes, so in order they are one
 * deflate stream: a single inflater reads them all (on the thread pool, a chunk at a time as the reader pulls).
 */
export async function* plainChunks(exposition: ObjectExposition): AsyncGenerator<Buffer> {
  const inflater = createInflateRaw({ chunkSize: 1024 * 1024, finishFlush: constants.Z_SYNC_FLUSH })
  const input = Readable.from(deflatedChunks(exposition), { objectMode: false })
  input.on("error", (cause) => inflater.destroy(cause))
  for await (const chunk of input.pipe(inflater)) {
    if (Buffer.isBuffer(chunk)) yield chunk
  }
}

export interface StoreStats {
  /** Family segments rendered since the store was made (an app's full block is one per family). */
  readonly segmentsRendered: number
  /** Pieces rebuilt and recompressed. */
  readonly piecesRebuilt: number
  readonly publishes: number
  readonly apps: number
  readonly unmanaged: number
  readonly groups: number
}

export interface StoreOptions {
  /** Apps per piece: larger compresses better and makes fewer pieces, smaller makes a one-app change cheaper. */
  readonly groupSize?: number
  /** Longest stretch of synchronous work before yielding to the event loop. */
  readonly sliceMs?: number
  /** Pieces compressed at once on the thread pool. */
  readonly deflateConcurrency?: number
}

interface Piece {
  /** The text until compressed, then null: only the compressed form is kept. */
  plain: Buffer | null
  /** Null until compressed. */
  gz: GzipPiece | null
}

interface Entry {
  readonly key: string
  input: SeriesInput
  readonly group: Group
  /** Bytes of this entry in each family's current piece of its group. */
  readonly lengths: Uint32Array
  /** Families whose segment must be rendered again. */
  pending: number
  removed: boolean
}

interface Group {
  readonly index: number
  slots: Array<Entry>
  live: number
  pieces: Array<Piece>
  /** Families whose piece must be rebuilt. */
  dirty: number
}

const FAMILIES = families.length
const ALL = (1 << FAMILIES) - 1
const emptyPlain = Buffer.alloc(0)
const noPiece: Piece = { plain: null, gz: emptyPiece }

const headerPieces: ReadonlyArray<GzipPiece> = familyHeaders.map((text) => deflatePieceSync(Buffer.from(text, "utf8")))

/** A piece's text: kept until it is compressed, inflated again after. */
const textOf = (piece: Piece | undefined): Buffer =>
  piece === undefined ? emptyPlain : piece.plain ?? (piece.gz === null ? emptyPlain : inflatePieceSync(piece.gz))

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

const mapLimit = async <A, B>(items: ReadonlyArray<A>, limit: number, f: (a: A) => Promise<B>): Promise<Array<B>> => {
  const out = new Array<B>(items.length)
  let next = 0
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await f(items[i] as A)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

const appKey = (appId: string) => `app:${appId}`
const unmanagedKey = (appId: string) => `unmanaged:${appId}`

export class MetricStore {
  private readonly groupSize: number
  private readonly sliceMs: number
  private readonly deflateConcurrency: number
  private readonly entries = new Map<string, Entry>()
  private readonly groups: Array<Group> = []
  /** Groups with fewer live entries than groupSize, besides the last one. */
  private readonly roomy = new Set<Group>()
  private readonly dirtyGroups = new Set<Group>()
  private exposition: ObjectExposition
  private publishing: Promise<void> = Promise.resolve()
  private counts = { segmentsRendered: 0, piecesRebuilt: 0, publishes: 0 }

  constructor(options: StoreOptions = {}) {
    this.groupSize = Math.max(1, Math.floor(options.groupSize ?? 64))
    this.sliceMs = options.sliceMs ?? 8
    this.deflateConcurrency = Math.max(1, options.deflateConcurrency ?? 4)
    this.exposition = this.assemble(null, ALL)
  }

  /** The exposition of the last publish; scrapes serve it as is. */
  get current(): ObjectExposition {
    return this.exposition
  }

  get stats(): StoreStats {
    let apps = 0
    for (const entry of this.entries.values()) if (entry.input._tag === "App") apps += 1
    return { ...this.counts, apps, unmanaged: this.entries.size - apps, groups: this.groups.length }
  }

  /**
   * Records an app's newest report, observed at `observedAt` (Unix ms): what `phala_app_last_success_timestamp_seconds`
   * says when the report is not `unknown`. Costs O(that app); shows at the next `publish`.
   */
  upsert(report: AppReport, observedAt: number): void {
    const key = appKey(report.appId)
    const previous = this.entries.get(key)?.input
    this.put(key, appSeriesInput(previous?._tag === "App" ? previous : undefined, report, observedAt / 1000))
  }

  /** Forgets an app: its series vanish at the next publish. */
  remove(appId: string): void {
    this.drop(appKey(appId))
  }

  /** The apps of a snapshot replace all apps: new and changed ones are recorded, those not in it are removed. */
  async applySnapshot(snapshot: Snapshot): Promise<void> {
    const at = snapshot.generatedAt.getTime()
    const present = new Set<string>()
    let sliceStart = performance.now()
    for (const report of snapshot.apps) {
      this.upsert(report, at)
      present.add(appKey(report.appId))
      if (performance.now() - sliceStart > this.sliceMs) {
        await yieldToLoop()
        sliceStart = performance.now()
      }
    }
    for (const [key, entry] of [...this.entries]) if (entry.input._tag === "App" && !present.has(key)) this.drop(key)
  }

  /** The unmanaged apps of the last workspace sweep replace the previous set. */
  setUnmanaged(apps: ReadonlyArray<{ readonly appId: string; readonly name: string }>): void {
    const present = new Set<string>()
    for (const { appId, name } of apps) {
      const key = unmanagedKey(appId)
      present.add(key)
      this.put(key, { _tag: "Unmanaged", appId, name })
    }
    for (const [key, entry] of [...this.entries]) if (entry.input._tag === "Unmanaged" && !present.has(key)) this.drop(key)
  }

  /**
   * Renders what changed since the last publish and swaps in the new exposition. Publishes run one after another;
   * the event loop is never held longer than `sliceMs` by the rendering, and compression runs on the thread pool.
   */
  publish(): Promise<void> {
    const run = this.publishing.then(() => this.publishNow())
    this.publishing = run.catch(() => undefined)
    return run
  }

  // == internals

  private put(key: string, input: SeriesInput): void {
    const entry = this.entries.get(key)
    if (entry === undefined) {
      const group = this.groupWithRoom()
      const created: Entry = { key, input, group, lengths: new Uint32Array(FAMILIES), pending: ALL, removed: false }
      group.slots.push(created)
      group.live += 1
      if (group.live >= this.groupSize) this.roomy.delete(group)
      this.entries.set(key, created)
      this.markDirty(group, ALL)
      return
    }
    let changed = 0
    for (let f = 0; f < FAMILIES; f++) if (!sameSegment(entry.input, input, f)) changed |= 1 << f
    entry.input = input
    if (changed !== 0) {
      entry.pending |= changed
      this.markDirty(entry.group, changed)
    }
  }

  private drop(key: string): void {
    const entry = this.entries.get(key)
    if (entry === undefined) return
    this.entries.delete(key)
    entry.removed = true
    entry.pending = 0
    const group = entry.group
    group.live -= 1
    if (group !== this.groups[this.groups.length - 1]) this.roomy.add(group)
    let present = 0
    for (let f = 0; f < FAMILIES; f++) if ((entry.lengths[f] ?? 0) > 0) present |= 1 << f
    // an entry removed before any publish rendered it has no bytes; the rebuild still drops its slot
    this.markDirty(group, present === 0 ? 1 : present)
  }

  private markDirty(group: Group, families: number): void {
    group.dirty |= families
    this.dirtyGroups.add(group)
  }

  private groupWithRoom(): Group {
    const [reused] = this.roomy
    if (reused !== undefined) return reused
    const last = this.groups[this.groups.length - 1]
    if (last !== undefined && last.live < this.groupSize) return last
    const group: Group = { index: this.groups.length, slots: [], live: 0, pieces: Array.from({ length: FAMILIES }, () => noPiece), dirty: 0 }
    this.groups.push(group)
    return group
  }

  /**
   * New plain pieces for the group's dirty families, in place at once (they match the new lengths); drops removed
   * slots. Synchronous: one group at a time. The exposition being served keeps its own references to the old pieces.
   */
  private rebuild(group: Group): Array<Piece> {
    const rebuilt: Array<Piece> = []
    const ids = new Map<Entry, string>()
    for (let f = 0; f < FAMILIES; f++) {
      if ((group.dirty & (1 << f)) === 0) continue
      const fresh: Array<string | null> = new Array(group.slots.length)
      let total = 0
      group.slots.forEach((entry, i) => {
        if (entry.removed) return
        if ((entry.pending & (1 << f)) === 0) {
          total += entry.lengths[f] ?? 0
          return
        }
        let labels = ids.get(entry)
        if (labels === undefined) {
          labels = identityLabels(entry.input)
          ids.set(entry, labels)
        }
        const text = families[f]?.render(entry.input, labels) ?? ""
        this.counts.segmentsRendered += 1
        fresh[i] = text
        total += Buffer.byteLength(text, "utf8")
      })
      // other apps' text comes from the old piece, inflated only when some of it is kept
      const keeps = group.slots.some((entry) => !entry.removed && (entry.pending & (1 << f)) === 0 && (entry.lengths[f] ?? 0) > 0)
      const old = keeps ? textOf(group.pieces[f]) : emptyPlain
      const plain = Buffer.allocUnsafeSlow(total)
      let from = 0
      let to = 0
      group.slots.forEach((entry, i) => {
        const oldLength = entry.lengths[f] ?? 0
        if (entry.removed) {
          from += oldLength
          return
        }
        const text = fresh[i]
        if (text === null || text === undefined) {
          if (oldLength > 0) old.copy(plain, to, from, from + oldLength)
          to += oldLength
        } else {
          const written = plain.write(text, to, "utf8")
          entry.lengths[f] = written
          to += written
        }
        from += oldLength
      })
      const piece: Piece = { plain, gz: null }
      group.pieces[f] = piece
      rebuilt.push(piece)
    }
    for (const entry of group.slots) entry.pending = 0
    group.slots = group.slots.filter((entry) => !entry.removed)
    group.dirty = 0
    return rebuilt
  }

  private async publishNow(): Promise<void> {
    const groups = [...this.dirtyGroups].sort((a, b) => a.index - b.index)
    this.dirtyGroups.clear()
    const rebuilt: Array<Piece> = []
    let changed = 0
    let sliceStart = performance.now()
    for (const group of groups) {
      changed |= group.dirty
      rebuilt.push(...this.rebuild(group))
      if (performance.now() - sliceStart > this.sliceMs) {
        await yieldToLoop()
        sliceStart = performance.now()
      }
    }
    await mapLimit(rebuilt, this.deflateConcurrency, async (piece) => {
      const plain = piece.plain ?? emptyPlain
      piece.gz = await deflatePiece(plain).catch(() => deflatePieceSync(plain))
      piece.plain = null
    })
    this.counts.piecesRebuilt += rebuilt.length
    this.counts.publishes += 1
    this.exposition = this.assemble(this.exposition, changed)
  }

  /** A new exposition: the families in `changed` are collected again from the groups, the others are reused. */
  private assemble(previous: ObjectExposition | null, changed: number): ObjectExposition {
    const families = Array.from({ length: FAMILIES }, (_, f): FamilyExposition => {
      const kept = previous?.families[f]
      if (kept !== undefined && (changed & (1 << f)) === 0) return kept
      const header = headerPieces[f] ?? emptyPiece
      const pieces: Array<GzipPiece> = [header]
      let length = header.length
      for (const group of this.groups) {
        const piece = group.pieces[f]
        if (piece === undefined) continue
        // every piece was compressed before this assembly (publishNow); a store made empty has none
        const gz = piece.gz ?? (piece.plain === null ? emptyPiece : deflatePieceSync(piece.plain))
        if (gz.length > 0) {
          pieces.push(gz)
          length += gz.length
        }
      }
      return familyExposition(pieces, length)
    })
    return objectExposition(previous === null ? 0 : previous.generation + 1, families)
  }
}
