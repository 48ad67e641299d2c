import { FetchHttpClient, FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, TestClock } from "effect"
import { join } from "node:path"
import { Alerting } from "../../src/Alerts/Alerting.js"
import { outboxDir } from "../../src/Alerts/OutboxStore.js"
import { eventId } from "../../src/Alerts/Receivers/WebhookPayload.js"
import { announcedFilePath, stateFilePath } from "../../src/Alerts/StateStore.js"
import type { DaemonConfig } from "../../src/Core/Domain/App.js"
import { Observation } from "../../src/Core/Domain/Observation.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { ConfigStore } from "../../src/Runtime/ConfigStore.js"
import { Events } from "../../src/Runtime/Events.js"
import { cvm, desiredApp, observedApp } from "../support/builders.js"
import { captureLogs } from "../support/logs.js"

const T0 = Date.parse("2026-12-01T00:00:00Z")
const app = desiredApp({ for: Duration.zero, replicas: { min: 1, max: 1 } })

const config = (stateDir: string): DaemonConfig => ({
  source: "desired.yaml",
  api: { url: "http://127.0.0.1:1/api/v1", apiKey: Redacted.make("k"), apiVersion: "2025-10-28", timeout: Duration.seconds(1), retries: 0, concurrency: 1 },
  poll: { _tag: "Interval", interval: Duration.seconds(30) },
  server: { host: "127.0.0.1", port: 9477, lifecycle: false, auth: null, tls: null, phalaWebhook: null },
  stateDir,
  apps: [app],
  alerting: {
    resendInterval: Duration.minutes(1),
    // nothing listens on port 1: every notification stays queued
    receivers: [{ _tag: "Webhook", name: "hook", url: Redacted.make("http://127.0.0.1:1/hook"), bearerToken: null, hmacSecret: null, timeout: Duration.seconds(1) }],
    defaultReceivers: ["hook"],
    routes: [],
    externalUrl: null
  }
})

const fleet = (at: number, status: string): Snapshot => ({
  generatedAt: new Date(at),
  apps: [diffApp(app, Observation.found(observedApp([cvm({ status })])))]
})

/**
 * One run of the alert engine on `stateDir`, evaluating `snapshots` at their times; its scope ends the run. The
 * clock is set before the engine starts: moving it years ahead later would run its heartbeats all the way.
 */
const run = (stateDir: string, snapshots: ReadonlyArray<Snapshot>) =>
  TestClock.setTime(snapshots[0]?.generatedAt.getTime() ?? 0).pipe(Effect.zipRight(Effect.scoped(Effect.gen(function*() {
    const alerting = yield* Alerting
    for (const snapshot of snapshots) {
      yield* TestClock.setTime(snapshot.generatedAt.getTime())
      yield* alerting.onSnapshot(snapshot)
    }
    return [...(yield* alerting.current).values()]
  }).pipe(
    Effect.provide(Alerting.DefaultWithoutDependencies.pipe(
      Layer.provide(Layer.mergeAll(ConfigStore.fixed(config(stateDir)), Events.Default, FetchHttpClient.layer, NodeFileSystem.layer))
    ))
  ))))

/** The event ids of the notifications queued on disk for the receiver. */
const queuedIds = (stateDir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = outboxDir(stateDir, "hook")
    const names = (yield* fs.readDirectory(dir)).filter((name) => name.endsWith(".json")).sort()
    return yield* Effect.forEach(names, (name) =>
      Effect.map(fs.readFileString(join(dir, name)), (text) => {
        const item = JSON.parse(text) as { event: { kind: "firing" | "resolved"; alert: { fingerprint: string; activeAt: number } } }
        return `${item.event.kind} ${eventId(item.event)}`
      }))
  })

describe("Alerting: queued notifications and the saved state agree", () => {
  it.scoped("killed after an event was queued but before the state was saved, the restart does not announce it again", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = yield* fs.makeTempDirectoryScoped({ prefix: "alerting-" })
      // a healthy evaluation: the state is saved, with no alerts
      yield* run(stateDir, [fleet(T0 - 60_000, "running")])
      const savedState = yield* fs.readFileString(stateFilePath(stateDir))
      const savedLedger = yield* fs.readFileString(announcedFilePath(stateDir))

      // the CVM stops: a firing event is queued and the state saved; then the process "dies" before the state write
      // reached the disk, which we play by putting the files of the earlier save back
      const before = yield* run(stateDir, [fleet(T0, "stopped")])
      expect(before.map((a) => [a.state, a.announced, a.activeAt])).toEqual([["firing", true, T0]])
      const queued = yield* queuedIds(stateDir)
      expect(queued).toHaveLength(1)
      yield* fs.writeFileString(stateFilePath(stateDir), savedState)
      yield* fs.writeFileString(announcedFilePath(stateDir), savedLedger)

      // the next start takes the queued event in: still the same incident, announced once, under one id
      const after = yield* run(stateDir, [fleet(T0 + 60_000, "stopped")])
      expect(after.map((a) => [a.state, a.announced, a.activeAt])).toEqual([["firing", true, T0]])
      expect(yield* queuedIds(stateDir)).toEqual(queued)
      expect(logs.lines.some((l) => l.includes("alert state brought in line with notifications queued before the last stop"))).toBe(true)
    }).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, logs.layer)))
  })
})
