import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { loadConfig, readBounded } from "../../src/Config/Load.js"

const dir = mkdtempSync(join(tmpdir(), "phala-drift-read-"))
const fifo = join(dir, "fifo.yaml")
execFileSync("mkfifo", [fifo])

const readRegularFile = (path: string) => readBounded(path, 1024, { regularFilesOnly: true })

describe("readBounded, regular files only", () => {
  it.effect("reads a regular file", () =>
    Effect.gen(function*() {
      const path = join(dir, "plain.yaml")
      writeFileSync(path, "version: 1\n")
      expect(yield* readRegularFile(path)).toEqual({ _tag: "Text", text: "version: 1\n" })
      writeFileSync(path, "x".repeat(1025))
      expect(yield* readRegularFile(path)).toEqual({ _tag: "TooLarge" })
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  // nobody writes to the FIFO: a read would never return, and this test would time out
  it.effect("refuses a FIFO or a directory without opening it", () =>
    Effect.gen(function*() {
      for (const path of [fifo, dir]) {
        const error = yield* Effect.flip(readRegularFile(path))
        expect(error._tag).toBe("NotRegularFile")
        expect(error.message).toBe("not a regular file")
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("loadConfig with regularFilesOnly reports a FIFO config as file:1:1", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadConfig(fifo, {}, { regularFilesOnly: true }))
      expect(error.diagnostics).toEqual([{ file: fifo, line: 1, column: 1, path: "", message: "cannot read config file: not a regular file" }])
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
