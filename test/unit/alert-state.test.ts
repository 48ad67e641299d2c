import { FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { join } from "node:path"
import type { FiringAlert, PendingAlert, ResolvedAlert } from "../../src/Core/Domain/Alert.js"
import { writeFileAtomic } from "../../src/Alerts/AtomicFile.js"
import { eventId } from "../../src/Alerts/Receivers/WebhookPayload.js"
import { evaluate } from "../../src/Core/Alerting/Rules.js"
import {
  type AlertStateSnapshot,
  announcedFilePath,
  announcedKey,
  decodeAlertState,
  encodeAlertState,
  loadAlertState,
  saveAlertState,
  saveAnnounced,
  stateFilePath
} from "../../src/Alerts/StateStore.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { Observation } from "../../src/Core/Domain/Observation.js"
import { cvm, desiredApp, observedApp } from "../support/builders.js"
import { captureLogs } from "../support/logs.js"

const firing: FiringAlert = {
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
const pending: PendingAlert = { ...firing, fingerprint: "b2", state: "pending", firedAt: null, announced: false, labels: { ...firing.labels, n: "2" } }
const resolved: ResolvedAlert = { ...firing, fingerprint: "c3", state: "resolved", resolvedAt: 95_000 }

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
      ["an alert of the wrong shape", encodeAlertState(state, 1).replace("\"PhalaAppMissing\"", "42")],
      // impossible states an older version could write: a resolution without a time (then never dropped), a
      // pending alert said to be announced
      ["a resolved alert without a resolution time", encodeAlertState(state, 1).replace("\"resolvedAt\": 95000", "\"resolvedAt\": null")],
      ["a pending alert marked announced", encodeAlertState({ ...state, alerts: new Map([["b2", pending]]) }, 1).replace("\"announced\": false", "\"announced\": true")]
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

describe("announced-alerts ledger", () => {
  const T0 = Date.parse("2026-12-01T00:00:00Z")
  const app = desiredApp({ for: Duration.zero })
  const at = (now: number, status: string): Snapshot => ({
    generatedAt: new Date(now),
    apps: [diffApp(app, Observation.found(observedApp([cvm(), cvm({ vmUuid: "16d247ca-0000-4000-8000-000000000001", name: "r1", status })])))]
  })

  it.scoped("after a truncated alerts.json a firing alert is not announced again, and its resolution keeps a stable id", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = yield* tempDir
      const fired = evaluate({ snapshot: at(T0, "stopped"), previous: new Map(), now: T0, externalUrl: "" })
      const firingEvent = fired.events[0]
      expect(firingEvent?.kind).toBe("firing")
      yield* saveAlertState(stateDir, { alerts: fired.alerts, alertmanagerSent: new Map(), evaluatedAt: T0 })
      yield* saveAnnounced(stateDir, fired.alerts)
      yield* fs.writeFileString(stateFilePath(stateDir), "{\"version\":1,\"saved_at\":1,\"alerts\":[{\"fingerp")

      const loaded = yield* loadAlertState(stateDir)
      expect([...loaded.alerts.values()].map((a) => [a.state, a.announced, a.activeAt])).toEqual([["firing", true, T0]])
      expect(logs.lines.some((l) => l.includes("level=WARN") && l.includes("recovered from the announced-alerts ledger"))).toBe(true)
      // still stopped a minute later: no second "firing"
      const later = evaluate({ snapshot: at(T0 + 60_000, "stopped"), previous: loaded.alerts, now: T0 + 60_000, externalUrl: "" })
      expect(later.events).toEqual([])
      const resolved = evaluate({ snapshot: at(T0 + 120_000, "running"), previous: later.alerts, now: T0 + 120_000, externalUrl: "" })
      expect(resolved.events.map((e) => e.kind)).toEqual(["resolved"])
      // the same episode: what a receiver got before the restart and after it can be matched
      const episode = firingEvent === undefined ? "" : eventId({ ...firingEvent, kind: "resolved" })
      expect(resolved.events.map(eventId)).toEqual([episode])
    }).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, logs.layer)))
  })

  it.scoped("holds only announced alerts and changes only with a transition; a missing alerts.json also falls back to it", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = yield* tempDir
      const alerts = state.alerts
      yield* saveAnnounced(stateDir, alerts)
      const file = JSON.parse(yield* fs.readFileString(announcedFilePath(stateDir))) as { alerts: ReadonlyArray<{ readonly fingerprint: string }> }
      expect(file.alerts.map((a) => a.fingerprint).sort()).toEqual(["a1", "c3"])
      // a newer description or lastActiveAt is no reason to rewrite it; a resolution is
      const touched = new Map(alerts).set("a1", { ...firing, lastActiveAt: 99_000, annotations: { summary: "new text" } })
      expect(announcedKey(touched)).toBe(announcedKey(alerts))
      expect(announcedKey(new Map(alerts).set("a1", { ...firing, state: "resolved", resolvedAt: 99_000 }))).not.toBe(announcedKey(alerts))
      expect([...(yield* loadAlertState(stateDir)).alerts.keys()].sort()).toEqual(["a1", "c3"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))
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
