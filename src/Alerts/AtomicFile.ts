import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import { basename, dirname, join } from "node:path"

/** Prefix of in-progress writes; a reader listing a directory skips (and may delete) such names. */
export const tempPrefix = ".tmp-"

export const isTempName = (name: string): boolean => name.startsWith(tempPrefix)

/**
 * Replaces `path` with `content` so that a crash leaves either the old or the new file, never a torn one:
 * write a temp file in the same directory, fsync it, rename over the target, fsync the directory (the rename
 * itself is only durable once the directory entry is on disk).
 */
export const writeFileAtomic = (
  path: string,
  content: string,
  options: { readonly mode?: number } = {}
): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = dirname(path)
    const temp = join(dir, `${tempPrefix}${basename(path)}-${randomBytes(6).toString("hex")}`)
    const write = Effect.scoped(
      Effect.gen(function*() {
        const file = yield* fs.open(temp, { flag: "wx", mode: options.mode ?? 0o600 })
        yield* file.writeAll(new TextEncoder().encode(content))
        yield* file.sync
      })
    )
    yield* write.pipe(
      Effect.zipRight(fs.rename(temp, path)),
      Effect.tapError(() => Effect.ignore(fs.remove(temp)))
    )
    yield* syncDirectory(dir)
  })

/** Best effort: some file systems refuse fsync on a directory, and the data itself is already safe. */
export const syncDirectory = (dir: string): Effect.Effect<void, never, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (handle) => handle.sync)).pipe(Effect.ignore))

/** Moves a file aside (corrupt, dead letter) into `targetDir`, creating it; durable like a write. */
export const moveInto = (
  path: string,
  targetDir: string,
  name: string = basename(path)
): Effect.Effect<string, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(targetDir, { recursive: true })
    const target = join(targetDir, name)
    yield* fs.rename(path, target)
    yield* syncDirectory(targetDir)
    yield* syncDirectory(dirname(path))
    return target
  })
