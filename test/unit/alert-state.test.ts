import { FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { join } from "node:path"
import type { Alert } from "../../src/Domain/Alert.js"
import { writeFileAtomic } from "../../src/Alerts/AtomicFile.js"
import {
  type AlertStateSnapshot,
  decodeAlertState,
  encodeAlertState,
  loadAlertState,
  saveAlertState,
  stateFilePath
} from "../../src/Alerts/StateStore.js"
import { captureLogs } from "../support/logs.js"

const firing: Alert = {
  fingerprint: "a1",
  name: "PhalaAppMissing",
  labels: { alertname: "PhalaAppMissing", severity: "critical", app_id: "2a7b", app_name: "payments-api" },
  annotations: { summary: "payments-api is gone", plan_url: "http://drift:9477/api/v1/plan" },
  state: "firing",
  activeAt: 1_000,
  firedAt: 61_000,
  lastActiveAt: 90_000,
  resolvedAt: null,
  silenced: false,
  announced: true
}
const pending: Alert = { ...firing, fingerprint: "b2", state: "pending", firedAt: null, labels: { ...firing.labels, n: "2" } }
const resolved: Alert = { ...firing, fingerprint: "c3", state: "resolved", resolvedAt: 95_000 }

const state: AlertStateSnapshot = {
  alerts: new Map([firing, pending, resolved].map((alert) => [alert.fingerprint, alert])),
  alertmanagerSent: new Map([["am", new Map([["a1", { at: 90_000, state: "firing" as const }]])]]),
  evaluatedAt: 90_000
}

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "alert-state-" }))

describe("alert state store", () => {
  it("encodes and decodes every field", () => {
    const decoded = decodeAlertState(encodeAlertState(state, 100_000))
    expect(decoded._tag).toBe("Right")
    if (decoded._tag === "Right") expect(decoded.right).toEqual(state)
  })

  it("writes versioned JSON", () => {
    const file: unknown = JSON.parse(encodeAlertState(state, 100_000))
    expect(file).toMatchObject({
      version: 1,
      saved_at: 100_000,
      evaluated_at: 90_000,
      alertmanager_sent: { am: { a1: { sent_at: 90_000, state: "firing" } } }
    })
  })

  it.scoped("round-trips through alerts.json and leaves no temp files", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const stateDir = join(dir, "nested", "state")
      yield* saveAlertState(stateDir, state)
      yield* saveAlertState(stateDir, state)
      expect(yield* fs.readDirectory(stateDir)).toEqual(["alerts.json"])
      expect(yield* loadAlertState(stateDir)).toEqual(state)
      expect((yield* fs.stat(stateFilePath(stateDir))).mode & 0o777).toBe(0o600)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("starts empty when there is no file yet", () =>
    Effect.gen(function*() {
      const loaded = yield* loadAlertState(yield* tempDir)
      expect(loaded.alerts.size).toBe(0)
      expect(loaded.alertmanagerSent.size).toBe(0)
      expect(loaded.evaluatedAt).toBeNull()
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  for (
    const [what, content] of [
      ["truncated JSON", "{\"version\":1,\"alerts\":[{\"fing"],
      ["a newer version", JSON.stringify({ version: 2, saved_at: 1, evaluated_at: null, alerts: [], alertmanager_sent: {} })],
      ["an alert of the wrong shape", encodeAlertState(state, 1).replace("\"PhalaAppMissing\"", "42")]
    ] as const
  ) {
    it.scoped(`moves a file with ${what} aside, logs an error, and starts empty`, () => {
      const logs = captureLogs()
      return Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const stateDir = yield* tempDir
        yield* fs.writeFileString(stateFilePath(stateDir), content)
        const loaded = yield* loadAlertState(stateDir)
        expect(loaded.alerts.size).toBe(0)
        const names = yield* fs.readDirectory(stateDir)
        expect(names).toHaveLength(1)
        expect(names[0]).toMatch(/^alerts\.json\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/)
        expect(yield* fs.readFileString(join(stateDir, names[0] ?? ""))).toBe(content)
        expect(logs.lines.some((line) => line.includes("level=ERROR") && line.includes("corrupt"))).toBe(true)
        // the next save starts a fresh file
        yield* saveAlertState(stateDir, state)
        expect((yield* loadAlertState(stateDir)).alerts.size).toBe(3)
      }).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, logs.layer)))
    })
  }
})

describe("atomic file writes", () => {
  it.scoped("replace the whole file, even under concurrent writers, and leave no temp files", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const path = join(dir, "data.json")
      const contents = Array.from({ length: 20 }, (_, i) => JSON.stringify({ i, pad: "x".repeat(10_000 + i) }))
      yield* Effect.forEach(contents, (content) => writeFileAtomic(path, content), { concurrency: "unbounded" })
      expect(contents).toContain(yield* fs.readFileString(path))
      expect(yield* fs.readDirectory(dir)).toEqual(["data.json"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("clean up the temp file when the rename fails", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      yield* fs.makeDirectory(join(dir, "occupied"))
      yield* fs.writeFileString(join(dir, "occupied", "x"), "keeps the directory non-empty")
      const result = yield* Effect.either(writeFileAtomic(join(dir, "occupied"), "content"))
      expect(result._tag).toBe("Left")
      expect((yield* fs.readDirectory(dir)).sort()).toEqual(["occupied"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
