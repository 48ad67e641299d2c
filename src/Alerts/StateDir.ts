import * as FileSystem from "@effect/platform/FileSystem"
import { Data, Effect } from "effect"
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { tempPrefix } from "./AtomicFile.js"

/** `state_dir` (or a directory under it) cannot be used; at start-up this is fatal (exit 1). */
export class StateDirError extends Data.TaggedError("StateDirError")<{
  readonly path: string
  readonly detail: string
}> {
  override get message(): string {
    return `state_dir ${this.path}: ${this.detail}`
  }
}

/**
 * Creates `dir` (with its parents) and proves that a file can be created, written, synced and removed there: a
 * read-only mount, a regular file in the way or a full disk fail here, at start-up, rather than at the first alert.
 */
export const checkWritableDir = (dir: string): Effect.Effect<void, StateDirError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(dir, { recursive: true }).pipe(
      Effect.mapError((error) => new StateDirError({ path: dir, detail: `cannot create the directory (${error.message})` }))
    )
    const probe = join(dir, `${tempPrefix}probe-${randomBytes(6).toString("hex")}`)
    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(probe, { flag: "wx", mode: 0o600 })
      yield* file.writeAll(new TextEncoder().encode("phala-drift write probe\n"))
      yield* file.sync
    })).pipe(
      Effect.ensuring(Effect.ignore(fs.remove(probe))),
      Effect.mapError((error) => new StateDirError({ path: dir, detail: `cannot write there (${error.message})` }))
    )
  })
