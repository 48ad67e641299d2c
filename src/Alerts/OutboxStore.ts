import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Either, Schema } from "effect"
import { join } from "node:path"
import { AlertEvent } from "../Core/Domain/Alert.js"
import { isTempName, moveInto, writeFileAtomic } from "./AtomicFile.js"

export interface OutboxItem {
  readonly seq: number
  /** Epoch ms. */
  readonly enqueuedAt: number
  readonly event: AlertEvent
}

/** One item file; the same schema writes and reads it. */
const ItemFile = Schema.parseJson(Schema.Struct({
  version: Schema.Literal(1),
  seq: Schema.Int.pipe(Schema.positive()),
  enqueuedAt: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("enqueued_at")),
  event: AlertEvent
}))
const decodeItem = Schema.decodeUnknownEither(ItemFile)
const encodeItem = (item: OutboxItem): string => Schema.encodeSync(ItemFile)({ version: 1, ...item })

const seqDigits = 12
const itemPattern = /^(\d{12})\.json$/
export const itemFileName = (seq: number): string => `${String(seq).padStart(seqDigits, "0")}.json`
const seqOf = (name: string): number | null => {
  const match = itemPattern.exec(name)
  return match?.[1] === undefined ? null : Number(match[1])
}

/** A directory per receiver; names from the config are encoded so they cannot climb out of `outbox/`. */
export const receiverDirName = (receiver: string): string => {
  const encoded = encodeURIComponent(receiver)
  return encoded === "." || encoded === ".." ? encodeURIComponent(receiver.replace(/\./g, "%2E")) : encoded
}

export const outboxDir = (stateDir: string, receiver: string): string =>
  join(stateDir, "outbox", receiverDirName(receiver))

export const isNotFound = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"

/** An item file that could not be read back, moved to `corrupt/` (or not: `moveError`). */
export interface CorruptItem {
  readonly seq: number
  readonly error: string
  readonly moveError: string | null
}

export interface LoadedItems {
  /** In sequence order. */
  readonly items: ReadonlyArray<OutboxItem>
  readonly corrupt: ReadonlyArray<CorruptItem>
  /** The highest sequence number found, files moved aside included: the next item never lands on one of them. */
  readonly highest: number
}

/**
 * Where one receiver's queue lives, `<stateDir>/outbox/<receiver>/<seq>.json`, each file written atomically. The
 * outbox decides what to write and when; this only knows files.
 */
export interface OutboxStore {
  readonly dir: string
  /** What a previous process left, minus `skip`; an item that cannot be read is moved to `corrupt/`. */
  readonly load: (skip: ReadonlySet<number>) => Effect.Effect<LoadedItems, PlatformError>
  readonly ensureDir: Effect.Effect<void, PlatformError>
  readonly write: (item: OutboxItem) => Effect.Effect<void, PlatformError>
  /** Deleting a file that is not there is no error. */
  readonly remove: (seq: number) => Effect.Effect<void, PlatformError>
  /** Into `dead/`: the file moved there, or written there when it never reached the disk. */
  readonly deadLetter: (item: OutboxItem, onDisk: boolean) => Effect.Effect<void, PlatformError>
  /** The sequence numbers whose files are there now. */
  readonly present: Effect.Effect<ReadonlySet<number>, PlatformError>
}

export const diskStore = (fs: FileSystem.FileSystem, dir: string): OutboxStore => {
  const withFs = Effect.provideService(FileSystem.FileSystem, fs)
  const scan = (path: string) =>
    fs.readDirectory(path).pipe(Effect.catchIf(isNotFound, () => Effect.succeed<Array<string>>([])))
  const pathOf = (seq: number) => join(dir, itemFileName(seq))

  const load = (skip: ReadonlySet<number>) =>
    Effect.gen(function*() {
      yield* fs.makeDirectory(dir, { recursive: true })
      const names = yield* scan(dir)
      // a temp file is a write that crashed before its rename: the caller never saw that enqueue succeed
      yield* Effect.forEach(names.filter(isTempName), (name) => Effect.ignore(fs.remove(join(dir, name))))
      const seqs = names.flatMap((name) => {
        const seq = seqOf(name)
        return seq === null || skip.has(seq) ? [] : [seq]
      }).sort((a, b) => a - b)
      const items: Array<OutboxItem> = []
      const corrupt: Array<CorruptItem> = []
      for (const seq of seqs) {
        const text = yield* Effect.either(fs.readFileString(pathOf(seq)))
        if (Either.isLeft(text) && isNotFound(text.left)) continue
        const decoded = Either.isLeft(text)
          ? Either.left(text.left.message)
          : Either.mapLeft(decodeItem(text.right), (error) => error.message.slice(0, 300))
        if (Either.isRight(decoded)) {
          items.push({ seq, enqueuedAt: decoded.right.enqueuedAt, event: decoded.right.event })
          continue
        }
        const moved = yield* Effect.either(withFs(moveInto(pathOf(seq), join(dir, "corrupt"))))
        corrupt.push({ seq, error: decoded.left, moveError: Either.isLeft(moved) ? moved.left.message : null })
      }
      const scanAside = (folder: string) => Effect.orElseSucceed(scan(join(dir, folder)), (): Array<string> => [])
      const asideNames = [...yield* scanAside("corrupt"), ...yield* scanAside("dead")]
      const highest = [...names, ...asideNames].reduce<number>((max, name) => Math.max(max, seqOf(name) ?? 0), 0)
      return { items, corrupt, highest }
    })

  const deadDir = join(dir, "dead")
  return {
    dir,
    load,
    ensureDir: fs.makeDirectory(dir, { recursive: true }),
    write: (item) => withFs(writeFileAtomic(pathOf(item.seq), encodeItem(item))),
    remove: (seq) => fs.remove(pathOf(seq)).pipe(Effect.catchIf(isNotFound, () => Effect.void)),
    deadLetter: (item, onDisk) =>
      onDisk
        ? Effect.asVoid(withFs(moveInto(pathOf(item.seq), deadDir)))
        : fs.makeDirectory(deadDir, { recursive: true }).pipe(
          Effect.zipRight(withFs(writeFileAtomic(join(deadDir, itemFileName(item.seq)), encodeItem(item))))
        ),
    present: Effect.map(scan(dir), (names) => new Set(names.flatMap((name) => {
      const seq = seqOf(name)
      return seq === null ? [] : [seq]
    })))
  }
}
