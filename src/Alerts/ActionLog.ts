import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Either, Option, Schema } from "effect"
import { join } from "node:path"
import { isNotFound } from "./OutboxStore.js"
import { syncDirectory } from "./AtomicFile.js"
import { type ActionRecord, ActionRecordJson } from "../Core/Domain/ActionRecord.js"

/**
 * `state_dir/actions.jsonl`: one JSON record per line, appended and fsync'd. When a write would take the file past
 * `maxBytes` it is first renamed to `actions.jsonl.1` (replacing the previous one), so the two files hold at most
 * about twice `maxBytes`. Reading back reads both, tolerates a torn last line (a crash during a write) and any line
 * it cannot decode (counted, never fatal).
 */
export const actionsFilePath = (stateDir: string): string => join(stateDir, "actions.jsonl")
export const rotatedFilePath = (stateDir: string): string => `${actionsFilePath(stateDir)}.1`

/** 1 MiB: some 3000 records, weeks of a busy fleet's self-healing. */
export const defaultMaxBytes = 1024 * 1024

const decodeLine = Schema.decodeUnknownEither(ActionRecordJson)
const encodeLine = Schema.encodeSync(ActionRecordJson)

export interface LoadedLog {
  /** Oldest first. */
  readonly records: ReadonlyArray<ActionRecord>
  /** Lines that did not decode (a torn last line included). */
  readonly unreadable: number
}

/** The last `limit` bytes of a file (from the start of a line), or none when it does not exist. */
const readTail = (path: string, limit: number): Effect.Effect<Option.Option<string>, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    return yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(path, { flag: "r" })
      const size = Number((yield* file.stat).size)
      const start = Math.max(0, size - limit)
      if (start > 0) yield* file.seek(start, "start")
      const bytes = Option.getOrElse(yield* file.readAlloc(size - start), () => new Uint8Array())
      const text = new TextDecoder().decode(bytes)
      // a tail cut mid-file starts inside a line: that partial line is dropped
      return Option.some(start > 0 ? text.slice(text.indexOf("\n") + 1) : text)
    }))
  }).pipe(Effect.catchIf(isNotFound, () => Effect.succeed(Option.none())))

const parse = (text: string): LoadedLog => {
  const records: Array<ActionRecord> = []
  let unreadable = 0
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    const decoded = decodeLine(line)
    if (Either.isRight(decoded)) records.push(decoded.right)
    else unreadable++
  }
  return { records, unreadable }
}

/** Both files, oldest record first; bounded by `maxBytes` per file. */
export const readActionLog = (stateDir: string, maxBytes: number = defaultMaxBytes) =>
  Effect.gen(function*() {
    const older = yield* readTail(rotatedFilePath(stateDir), maxBytes)
    const newer = yield* readTail(actionsFilePath(stateDir), maxBytes)
    const parts = [older, newer].flatMap((o) => (Option.isSome(o) ? [parse(o.value)] : []))
    return {
      records: parts.flatMap((p) => p.records),
      unreadable: parts.reduce((n, p) => n + p.unreadable, 0)
    } satisfies LoadedLog
  })

/** Whether the file ends in the middle of a line (a write cut by a crash): the next write starts a new line. */
const endsTorn = (path: string, size: number) =>
  Effect.gen(function*() {
    if (size === 0) return false
    const fs = yield* FileSystem.FileSystem
    return yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(path, { flag: "r" })
      yield* file.seek(size - 1, "start")
      const last = yield* file.readAlloc(1)
      return Option.isSome(last) && last.value[0] !== 0x0a
    }))
  })

/** Appends the records as lines and fsyncs them; only then are they on record. Rotates first when the file is full. */
export const appendRecords = (
  stateDir: string,
  records: ReadonlyArray<ActionRecord>,
  maxBytes: number = defaultMaxBytes
): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (records.length === 0) return
    const fs = yield* FileSystem.FileSystem
    const path = actionsFilePath(stateDir)
    const body = records.map((r) => `${encodeLine(r)}\n`).join("")
    const size = yield* fs.stat(path).pipe(
      Effect.map((info) => Number(info.size)),
      Effect.catchIf(isNotFound, () => Effect.succeed(-1))
    )
    let created = size < 0
    // state_dir may not exist yet (alerting, which creates it at start, may be off)
    if (created) yield* fs.makeDirectory(stateDir, { recursive: true })
    if (size > 0 && size + Buffer.byteLength(body) > maxBytes) {
      yield* fs.rename(path, rotatedFilePath(stateDir))
      created = true
    }
    const prefix = !created && (yield* endsTorn(path, size)) ? "\n" : ""
    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(path, { flag: "a", mode: 0o600 })
      yield* file.writeAll(new TextEncoder().encode(prefix + body))
      yield* file.sync
    }))
    // a new file (or the rename) is only durable once its directory entry is
    if (created) yield* syncDirectory(stateDir)
  })
