import { FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ActionRecord } from "../../src/Core/Domain/ActionRecord.js"
import { actionsFilePath, appendRecords, readActionLog, rotatedFilePath } from "../../src/Alerts/ActionLog.js"

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "actions-" }))

const record = (n: number, overrides: Partial<ActionRecord> = {}): ActionRecord => ({
  id: `a${n}`,
  at: new Date(Date.UTC(2026, 11, 1, 3, 0, n)).toISOString(),
  app_id: "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4",
  app_name: "payments-api",
  vm_uuid: "c48d9363-21b2-4f4a-87d9-3496623f020d",
  cvm_name: "payments-api",
  action: "start",
  from: "stopped",
  to: "running",
  result: "intent",
  reason: null,
  detail: "",
  attempt: 1,
  incident_since: "2026-12-01T02:58:00.000Z",
  ...overrides
})

describe("state_dir/actions.jsonl", () => {
  it.scoped("round trip: appended records read back in order", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* appendRecords(dir, [record(1), record(2, { result: "ok" })])
      yield* appendRecords(dir, [record(3, { result: "skipped", reason: "cooldown", detail: "wait" })])
      const loaded = yield* readActionLog(dir)
      expect(loaded.unreadable).toBe(0)
      expect(loaded.records).toEqual([record(1), record(2, { result: "ok" }), record(3, { result: "skipped", reason: "cooldown", detail: "wait" })])
      const text = yield* (yield* FileSystem.FileSystem).readFileString(actionsFilePath(dir))
      expect(text.split("\n")).toHaveLength(4)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a torn last line (crash mid-write) is skipped, and the next record starts on a line of its own", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const fs = yield* FileSystem.FileSystem
      yield* appendRecords(dir, [record(1)])
      const whole = JSON.stringify(record(2, { result: "ok" }))
      yield* fs.writeFileString(actionsFilePath(dir), whole.slice(0, 40), { flag: "a" })
      const torn = yield* readActionLog(dir)
      expect(torn.records).toEqual([record(1)])
      expect(torn.unreadable).toBe(1)
      yield* appendRecords(dir, [record(3)])
      const after = yield* readActionLog(dir)
      expect(after.records).toEqual([record(1), record(3)])
      expect(after.unreadable).toBe(1)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("bounded: a full file is rotated to actions.jsonl.1; both are read back, older first", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const fs = yield* FileSystem.FileSystem
      const max = 2000
      for (let i = 0; i < 30; i++) yield* appendRecords(dir, [record(i)], max)
      const size = (p: string) => Effect.map(fs.stat(p), (s) => Number(s.size))
      expect(yield* size(actionsFilePath(dir))).toBeLessThanOrEqual(max)
      expect(yield* size(rotatedFilePath(dir))).toBeLessThanOrEqual(max)
      const loaded = yield* readActionLog(dir, max)
      const ids = loaded.records.map((r) => Number(r.id.slice(1)))
      expect(ids[ids.length - 1]).toBe(29)
      expect(ids).toEqual([...ids].sort((a, b) => a - b))
      expect(ids.length).toBeLessThan(30)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("no file yet: nothing, no error", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      expect(yield* readActionLog(dir)).toEqual({ records: [], unreadable: 0 })
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
