import { FetchHttpClient, FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Logger, LogLevel, Redacted, Ref, Schedule, Scope } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import type { Alert, AlertEvent } from "../../src/Domain/Alert.js"
import { type DeliveryResult, itemFileName, makeOutbox, type OutboxItem, type OutboxOptions,
  outboxDir } from "../../src/Alerts/Outbox.js"
import { outboxReceivers } from "../../src/Alerts/Receivers/EventReceivers.js"
import { ReceiverError } from "../../src/Alerts/Receivers/ReceiverError.js"
import { eventId } from "../../src/Alerts/Receivers/WebhookPayload.js"

const alertNumber = (n: number): Alert => ({
  fingerprint: `fp-${n}`,
  name: "PhalaCvmStatusDrift",
  labels: { alertname: "PhalaCvmStatusDrift", severity: "critical", app_id: "2a7b", app_name: "payments-api", n: String(n) },
  annotations: { summary: `alert ${n}` },
  state: "firing",
  activeAt: 1_000,
  firedAt: 2_000,
  lastActiveAt: 3_000,
  resolvedAt: null,
  silenced: false,
  announced: true
})
const eventNumber = (n: number): AlertEvent => ({ kind: "firing", alert: alertNumber(n), at: 2_000 + n })
const numberOf = (event: AlertEvent): number => Number(event.alert.labels["n"])

const fast: Pick<OutboxOptions, "retryBase" | "retryCap"> = {
  retryBase: Duration.millis(5),
  retryCap: Duration.millis(20)
}

const quietLogs = Logger.minimumLogLevel(LogLevel.None)
const TestLayer = Layer.mergeAll(NodeFileSystem.layer, FetchHttpClient.layer, quietLogs)

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "outbox-" }))

const awaitEmpty = (length: Effect.Effect<number>) =>
  length.pipe(
    Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (n) => n === 0 }),
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("queue never drained") })
  )

/** A delivery function standing in for a receiver: fails transiently while `down` answers true. */
const fakeReceiver = (name: string, down: (attempt: number) => ReceiverError | null) =>
  Effect.gen(function*() {
    const delivered = yield* Ref.make<ReadonlyArray<number>>([])
    const attempts = yield* Ref.make(0)
    const deliver = (item: OutboxItem) =>
      Effect.gen(function*() {
        const attempt = yield* Ref.getAndUpdate(attempts, (n) => n + 1)
        const failure = down(attempt)
        if (failure !== null) return yield* Effect.fail(failure)
        yield* Ref.update(delivered, (items) => [...items, numberOf(item.event)])
      })
    return { receiver: { name, deliver }, delivered, attempts }
  })

const unavailable = (receiver: string) =>
  new ReceiverError({ receiver, reason: "status", status: 503, transient: true, attempts: 1, detail: "HTTP 503" })
const rejected = (receiver: string) =>
  new ReceiverError({ receiver, reason: "status", status: 400, transient: false, attempts: 1, detail: "HTTP 400" })

const listItems = (dir: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readDirectory(dir)).pipe(
    Effect.map((names) => names.filter((name) => name.endsWith(".json")).sort())
  )

describe("outbox", () => {
  it.scopedLive("delivers in order after a receiver outage, loses nothing, and drains to 0", () =>
    Effect.gen(function*() {
      const stateDir = yield* tempDir
      const fake = yield* fakeReceiver("ops", (attempt) => (attempt < 6 ? unavailable("ops") : null))
      const outcomes: Array<DeliveryResult> = []
      const outbox = yield* makeOutbox({
        stateDir,
        receivers: [fake.receiver],
        onOutcome: (_, result) => Effect.sync(() => void outcomes.push(result)),
        ...fast
      })
      yield* Effect.forEach([1, 2, 3, 4, 5], (n) => outbox.enqueue("ops", eventNumber(n)), { discard: true })
      expect(yield* outbox.queueLength("ops")).toBeGreaterThan(0)
      yield* awaitEmpty(outbox.queueLength("ops"))
      expect(yield* Ref.get(fake.delivered)).toEqual([1, 2, 3, 4, 5])
      expect(outcomes.filter((r) => r === "retry")).toHaveLength(6)
      expect(outcomes.filter((r) => r === "success")).toHaveLength(5)
      expect(yield* listItems(outboxDir(stateDir, "ops"))).toEqual([])
      expect(yield* outbox.queueLengths).toEqual(new Map([["ops", 0]]))
    }).pipe(Effect.provide(TestLayer)))

  it.scopedLive("against a real HTTP receiver that is down for its first requests", () =>
    Effect.gen(function*() {
      const stateDir = yield* tempDir
      const bodies: Array<{ n: number; id: string }> = []
      let requests = 0
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          requests++
          if (requests <= 4) return void res.writeHead(503).end()
          const body: unknown = JSON.parse(Buffer.concat(chunks).toString())
          const label = typeof body === "object" && body !== null && "commonLabels" in body
            ? JSON.stringify(body.commonLabels)
            : "{}"
          bodies.push({ n: Number(JSON.parse(label).n), id: String(req.headers["x-phala-drift-event-id"]) })
          res.writeHead(204).end()
        })
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
      )
      const { port } = server.address() as AddressInfo
      const receivers = yield* outboxReceivers([{
        _tag: "Webhook",
        name: "ops",
        url: Redacted.make(`http://127.0.0.1:${port}/hook`),
        bearerToken: null,
        hmacSecret: null,
        timeout: Duration.seconds(2)
      }, { _tag: "Alertmanager", name: "am", urls: [], timeout: Duration.seconds(1) }], {
        externalUrl: null,
        retry: { times: 1, base: Duration.millis(5), cap: Duration.millis(10) }
      })
      expect(receivers.map((r) => r.name)).toEqual(["ops"])
      const outbox = yield* makeOutbox({ stateDir, receivers, ...fast })
      yield* Effect.forEach([1, 2, 3], (n) => outbox.enqueue("ops", eventNumber(n)), { discard: true })
      yield* awaitEmpty(outbox.queueLength("ops"))
      expect(bodies).toEqual([1, 2, 3].map((n) => ({ n, id: eventId(eventNumber(n)) })))
    }).pipe(Effect.provide(TestLayer)))

  it.scopedLive("a new instance on the same directory delivers what was left, in order, and continues the sequence", () =>
    Effect.gen(function*() {
      const stateDir = yield* tempDir
      const dir = outboxDir(stateDir, "ops")

      const firstScope = yield* Scope.make()
      const down = yield* fakeReceiver("ops", () => unavailable("ops"))
      const first = yield* makeOutbox({ stateDir, receivers: [down.receiver], ...fast }).pipe(Scope.extend(firstScope))
      yield* Effect.forEach([1, 2, 3, 4], (n) => first.enqueue("ops", eventNumber(n)), { discard: true })
      yield* Effect.sleep("30 millis")
      yield* Scope.close(firstScope, Exit.void)
      expect(yield* Ref.get(down.delivered)).toEqual([])
      expect(yield* listItems(dir)).toEqual([1, 2, 3, 4].map(itemFileName))

      const up = yield* fakeReceiver("ops", () => null)
      const second = yield* makeOutbox({ stateDir, receivers: [up.receiver], ...fast })
      yield* second.enqueue("ops", eventNumber(5))
      yield* awaitEmpty(second.queueLength("ops"))
      expect(yield* Ref.get(up.delivered)).toEqual([1, 2, 3, 4, 5])

      // the sequence continues after the highest number on disk, even once the queue is empty again
      const thirdScope = yield* Scope.make()
      const stillDown = yield* fakeReceiver("ops", () => unavailable("ops"))
      const third = yield* makeOutbox({ stateDir, receivers: [stillDown.receiver], ...fast }).pipe(
        Scope.extend(thirdScope)
      )
      yield* third.enqueue("ops", eventNumber(6))
      expect(yield* listItems(dir)).toEqual([itemFileName(1)])
      yield* Scope.close(thirdScope, Exit.void)
    }).pipe(Effect.provide(TestLayer)))

  it.scopedLive("continues numbering after items on disk and never reuses a number", () =>
    Effect.gen(function*() {
      const stateDir = yield* tempDir
      const scope = yield* Scope.make()
      const down = yield* fakeReceiver("ops", () => unavailable("ops"))
      const first = yield* makeOutbox({ stateDir, receivers: [down.receiver], ...fast }).pipe(Scope.extend(scope))
      yield* Effect.forEach([1, 2], (n) => first.enqueue("ops", eventNumber(n)), { discard: true })
      yield* Scope.close(scope, Exit.void)
      const again = yield* makeOutbox({ stateDir, receivers: [down.receiver], ...fast })
      yield* again.enqueue("ops", eventNumber(3))
      expect(yield* listItems(outboxDir(stateDir, "ops"))).toEqual([1, 2, 3].map(itemFileName))
      expect(yield* again.queueLength("ops")).toBe(3)
    }).pipe(Effect.provide(TestLayer)))

  it.scopedLive("moves a corrupt item aside and delivers the rest; stray temp files are removed", () => {
    const lines: Array<string> = []
    const logs = Layer.merge(
      Logger.replace(Logger.defaultLogger, Logger.map(Logger.logfmtLogger, (line) => void lines.push(line))),
      Logger.minimumLogLevel(LogLevel.All)
    )
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = yield* tempDir
      const dir = outboxDir(stateDir, "ops")
      const scope = yield* Scope.make()
      const down = yield* fakeReceiver("ops", () => unavailable("ops"))
      const first = yield* makeOutbox({ stateDir, receivers: [down.receiver], ...fast }).pipe(Scope.extend(scope))
      yield* Effect.forEach([1, 2, 3], (n) => first.enqueue("ops", eventNumber(n)), { discard: true })
      yield* Scope.close(scope, Exit.void)
      yield* fs.writeFileString(join(dir, itemFileName(2)), "{\"version\":1,\"seq\":2,\"ev")
      yield* fs.writeFileString(join(dir, ".tmp-000000000004.json-abc"), "half written")

      const outcomes: Array<DeliveryResult> = []
      const up = yield* fakeReceiver("ops", () => null)
      const outbox = yield* makeOutbox({
        stateDir,
        receivers: [up.receiver],
        onOutcome: (_, result) => Effect.sync(() => void outcomes.push(result)),
        ...fast
      })
      yield* awaitEmpty(outbox.queueLength("ops"))
      expect(yield* Ref.get(up.delivered)).toEqual([1, 3])
      expect(outcomes).toEqual(["success", "corrupt", "success"])
      expect(yield* fs.readDirectory(join(dir, "corrupt"))).toEqual([itemFileName(2)])
      expect(yield* fs.readDirectory(dir)).toEqual(["corrupt"])
      expect(lines.some((line) => line.includes("level=ERROR") && line.includes("corrupt notification"))).toBe(true)
    }).pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, logs)))
  })

  it.scopedLive("keeps permanently rejected items, then moves them to dead/ after deadLetterAfter", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = yield* tempDir
      const delivered: Array<number> = []
      const outcomes: Array<DeliveryResult> = []
      const outbox = yield* makeOutbox({
        stateDir,
        receivers: [{
          name: "ops",
          // a poison item: the receiver rejects item 1 every time, and takes item 2
          deliver: (item) =>
            numberOf(item.event) === 1
              ? Effect.fail(rejected("ops"))
              : Effect.sync(() => void delivered.push(numberOf(item.event)))
        }],
        onOutcome: (_, result) => Effect.sync(() => void outcomes.push(result)),
        permanentBackoff: Duration.millis(20),
        deadLetterAfter: Duration.millis(50),
        ...fast
      })
      yield* Effect.forEach([1, 2], (n) => outbox.enqueue("ops", eventNumber(n)), { discard: true })
      yield* Effect.sleep("10 millis")
      // head-of-line: while item 1 is being retried, item 2 waits
      expect(delivered).toEqual([])
      expect(yield* outbox.queueLength("ops")).toBe(2)
      yield* awaitEmpty(outbox.queueLength("ops"))
      expect(outcomes.length).toBeGreaterThanOrEqual(3)
      expect(outcomes.slice(0, -2).every((r) => r === "failure")).toBe(true)
      expect(outcomes.slice(-2)).toEqual(["dead_letter", "success"])
      expect(delivered).toEqual([2])
      expect(yield* fs.readDirectory(join(outboxDir(stateDir, "ops"), "dead"))).toEqual([itemFileName(1)])
    }).pipe(Effect.provide(TestLayer)))

  it.scopedLive("refuses an unknown receiver with a typed error and keeps receivers apart", () =>
    Effect.gen(function*() {
      const stateDir = yield* tempDir
      const a = yield* fakeReceiver("a", () => null)
      const b = yield* fakeReceiver("b/../../x", () => unavailable("b"))
      const outbox = yield* makeOutbox({ stateDir, receivers: [a.receiver, b.receiver], ...fast })
      const error = yield* Effect.flip(outbox.enqueue("nope", eventNumber(1)))
      expect(error.message).toBe("outbox of receiver nope: no such receiver")
      yield* outbox.enqueue("a", eventNumber(1))
      yield* outbox.enqueue("b/../../x", eventNumber(2))
      yield* awaitEmpty(outbox.queueLength("a"))
      expect(yield* outbox.queueLength("b/../../x")).toBe(1)
      expect(yield* FileSystem.FileSystem.pipe(Effect.flatMap((fs) => fs.readDirectory(join(stateDir, "outbox")))))
        .toEqual(expect.arrayContaining(["a", "b%2F..%2F..%2Fx"]))
    }).pipe(Effect.provide(TestLayer)))
})
