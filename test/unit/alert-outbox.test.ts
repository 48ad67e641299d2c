import { FetchHttpClient, FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Logger, LogLevel, Redacted, Ref, Schedule, Scope } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import type { FiringAlert, AlertEvent } from "../../src/Core/Domain/Alert.js"
import { type DeliveryResult, type DiskOutcome, makeHandover, makeOutbox, type OutboxItem,
  type OutboxOptions, outboxDir } from "../../src/Alerts/Outbox.js"
import { itemFileName } from "../../src/Alerts/OutboxStore.js"
import { outboxReceivers } from "../../src/Alerts/Receivers/EventReceivers.js"
import { ReceiverError } from "../../src/Alerts/Receivers/ReceiverError.js"
import { eventId } from "../../src/Alerts/Receivers/WebhookPayload.js"
import { captureLogs } from "../support/logs.js"

const alertNumber = (n: number): FiringAlert => ({
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

  it.scopedLive("a staged event is written but held: nothing behind it goes either, until it is released", () =>
    Effect.gen(function*() {
      const stateDir = yield* tempDir
      const fake = yield* fakeReceiver("ops", () => null)
      const outbox = yield* makeOutbox({ stateDir, receivers: [fake.receiver], ...fast })
      yield* outbox.stage("ops", eventNumber(1))
      // an event queued behind it rings the delivery loop, which finds a held head and waits again
      yield* outbox.enqueue("ops", eventNumber(2))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      expect(yield* Ref.get(fake.delivered)).toEqual([])
      expect(yield* listItems(outboxDir(stateDir, "ops"))).toHaveLength(2)
      expect((yield* outbox.queued).map(numberOf)).toEqual([1, 2])
      yield* outbox.release
      yield* awaitEmpty(outbox.queueLength("ops"))
      expect(yield* Ref.get(fake.delivered)).toEqual([1, 2])
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
      // the first instance has tried (and retried) before it goes away
      yield* Ref.get(down.attempts).pipe(
        Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (n) => n >= 2 }),
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("no delivery attempt") })
      )
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
      expect(outcomes).toEqual(["corrupt", "success", "success"])
      expect(yield* fs.readDirectory(join(dir, "corrupt"))).toEqual([itemFileName(2)])
      expect(yield* fs.readDirectory(dir)).toEqual(["corrupt"])
      expect(lines.some((line) => line.includes("level=ERROR") && line.includes("unreadable notification moved aside"))).toBe(true)
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
        deadLetterAfter: Duration.seconds(1),
        ...fast
      })
      yield* Effect.forEach([1, 2], (n) => outbox.enqueue("ops", eventNumber(n)), { discard: true })
      yield* awaitEmpty(Effect.sync(() => (outcomes.includes("failure") ? 0 : 1)))
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

/** A receiver that is down (503) while `up` is false, and records what it accepted. */
const switchableReceiver = (name: string) =>
  Effect.gen(function*() {
    const up = yield* Ref.make(false)
    const delivered = yield* Ref.make<ReadonlyArray<number>>([])
    const deliver = (item: OutboxItem) =>
      Effect.gen(function*() {
        if (!(yield* Ref.get(up))) return yield* Effect.fail(unavailable(name))
        yield* Ref.update(delivered, (items) => [...items, numberOf(item.event)])
      })
    return { receiver: { name, deliver }, up, delivered }
  })

const awaitTrue = (what: string, check: Effect.Effect<boolean, unknown, FileSystem.FileSystem>) =>
  check.pipe(
    Effect.orElseSucceed(() => false),
    Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (ok) => ok }),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`timed out waiting for ${what}`) })
  )

/** An outbox for one switchable receiver that records every disk outcome. */
const diskWatchedOutbox = (stateDir: string, options: Partial<OutboxOptions> = {}) =>
  Effect.gen(function*() {
    const fake = yield* switchableReceiver("ops")
    const disk: Array<DiskOutcome> = []
    const outbox = yield* makeOutbox({
      stateDir,
      receivers: [fake.receiver],
      onDisk: (_, outcome) => Effect.sync(() => void disk.push(outcome)),
      ...fast,
      ...options
    })
    return { fake, disk, outbox }
  })

describe("outbox when the disk breaks", () => {
  it.scopedLive("an unreadable item (a directory of that name, garbage) goes to corrupt/ and never blocks the next ones", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = yield* tempDir
      const scope = yield* Scope.make()
      const down = yield* fakeReceiver("ops", () => unavailable("ops"))
      const downChat = yield* fakeReceiver("chat", () => unavailable("chat"))
      const first = yield* makeOutbox({ stateDir, receivers: [down.receiver, downChat.receiver], ...fast }).pipe(Scope.extend(scope))
      yield* Effect.forEach([1, 2, 3, 4], (n) => first.enqueue("ops", eventNumber(n)), { discard: true })
      yield* Effect.forEach([1, 2, 3], (n) => first.enqueue("chat", eventNumber(n)), { discard: true })
      yield* Scope.close(scope, Exit.void)
      const ops = outboxDir(stateDir, "ops")
      const chat = outboxDir(stateDir, "chat")
      // item 2 becomes a directory (as unreadable as a file without permission, also for root), item 4 garbage
      yield* fs.remove(join(ops, itemFileName(2)))
      yield* fs.makeDirectory(join(ops, itemFileName(2), "inside"), { recursive: true })
      yield* fs.writeFileString(join(ops, itemFileName(4)), "\u0000\u0001 not json")
      // for chat even the way aside is blocked: corrupt/ is a regular file
      yield* fs.remove(join(chat, itemFileName(2)))
      yield* fs.makeDirectory(join(chat, itemFileName(2)))
      yield* fs.writeFileString(join(chat, "corrupt"), "in the way")

      const outcomes: Array<string> = []
      const upOps = yield* fakeReceiver("ops", () => null)
      const upChat = yield* fakeReceiver("chat", () => null)
      // the default 5-minute backoff: an item that blocked the queue would time this test out
      const outbox = yield* makeOutbox({
        stateDir,
        receivers: [upOps.receiver, upChat.receiver],
        onOutcome: (receiver, result) => Effect.sync(() => void outcomes.push(`${receiver}:${result}`))
      })
      yield* awaitEmpty(outbox.queueLength("ops"))
      yield* awaitEmpty(outbox.queueLength("chat"))
      expect(yield* Ref.get(upOps.delivered)).toEqual([1, 3])
      expect(yield* Ref.get(upChat.delivered)).toEqual([1, 3])
      expect((yield* fs.readDirectory(join(ops, "corrupt"))).sort()).toEqual([itemFileName(2), itemFileName(4)])
      expect(yield* fs.readDirectory(join(ops, "corrupt", itemFileName(2)))).toEqual(["inside"])
      // could not be moved: left where it is, skipped, and said so
      expect((yield* fs.readDirectory(chat)).sort()).toEqual([itemFileName(2), "corrupt"])
      expect(outcomes.filter((o) => o.endsWith(":corrupt")).sort()).toEqual(["chat:corrupt", "ops:corrupt", "ops:corrupt"])
      const errors = logs.lines.filter((line) => line.includes("level=ERROR"))
      expect(errors.filter((line) => line.includes("unreadable notification moved aside"))).toHaveLength(3)
      expect(errors.some((line) => line.includes("could not move the unreadable notification aside") && line.includes("receiver=chat"))).toBe(true)
      // the next items continue after every number ever used
      yield* outbox.enqueue("ops", eventNumber(5))
      yield* awaitEmpty(outbox.queueLength("ops"))
      expect(yield* Ref.get(upOps.delivered)).toEqual([1, 3, 5])
    }).pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, logs.layer)))
  })

  it.scopedLive("keeps events in memory while the outbox cannot be written, recreates it, writes them again, loses none", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = yield* tempDir
      const dir = outboxDir(stateDir, "ops")
      const { disk, fake, outbox } = yield* diskWatchedOutbox(stateDir, { auditInterval: Duration.millis(100) })
      yield* Effect.forEach([1, 2], (n) => outbox.enqueue("ops", eventNumber(n)), { discard: true })
      expect(yield* listItems(dir)).toEqual([1, 2].map(itemFileName))

      // the whole state directory is deleted (moved away in one step, so the outbox never sees half of it)
      yield* fs.rename(stateDir, `${stateDir}-deleted`)
      yield* awaitTrue("items written again", Effect.map(listItems(dir), (names) => names.length === 2))
      expect(yield* listItems(dir)).toEqual([1, 2].map(itemFileName))

      // now it cannot be recreated: a regular file where the outbox directory goes
      const blocker = join(`${stateDir}-deleted`, "blocker")
      yield* fs.writeFileString(blocker, "in the way")
      yield* fs.rename(join(stateDir, "outbox"), join(`${stateDir}-deleted`, "outbox-2"))
      yield* fs.rename(blocker, join(stateDir, "outbox"))
      yield* Effect.forEach([3, 4], (n) => outbox.enqueue("ops", eventNumber(n)), { discard: true })
      yield* awaitTrue("retries", Effect.sync(() => disk.filter((d) => d._tag === "Failed").length >= 3))
      expect(yield* outbox.queueLength("ops")).toBe(4)
      expect(yield* outbox.unsaved).toBeGreaterThanOrEqual(2)
      const failure = disk.find((d) => d._tag === "Failed")
      expect(failure?._tag === "Failed" ? failure.path : "").toBe(dir)
      const errors = logs.lines.filter((l) => l.includes("level=ERROR") && l.includes("cannot write the notification outbox"))
      // every attempt is logged, with the path
      expect(errors.length).toBeGreaterThanOrEqual(3)
      expect(errors.every((l) => l.includes(dir))).toBe(true)

      // the disk is back: everything is written, in order, and reported once
      yield* fs.remove(join(stateDir, "outbox"))
      yield* awaitTrue("recovery", Effect.map(outbox.unsaved, (n) => n === 0))
      expect(yield* listItems(dir)).toEqual([1, 2, 3, 4].map(itemFileName))
      expect(disk.filter((d) => d._tag === "Written")).toHaveLength(1)
      expect(logs.lines.some((l) => l.includes("notification outbox writable again"))).toBe(true)

      yield* Ref.set(fake.up, true)
      yield* awaitEmpty(outbox.queueLength("ops"))
      expect(yield* Ref.get(fake.delivered)).toEqual([1, 2, 3, 4])
      yield* awaitTrue("files deleted", Effect.map(listItems(dir), (names) => names.length === 0))
    }).pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, logs.layer)))
  })

  it.scopedLive("delivers from memory, in order, while the disk refuses every write", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = join(yield* tempDir, "state")
      // the outbox would lie under a regular file: nothing can ever be created there, root or not
      yield* fs.writeFileString(stateDir, "a file, not a directory")
      const { disk, fake, outbox } = yield* diskWatchedOutbox(stateDir)
      yield* Effect.forEach([1, 2, 3], (n) => outbox.enqueue("ops", eventNumber(n)), { discard: true })
      expect(yield* outbox.unsaved).toBe(3)
      yield* Ref.set(fake.up, true)
      yield* awaitEmpty(outbox.queueLength("ops"))
      expect(yield* Ref.get(fake.delivered)).toEqual([1, 2, 3])
      expect(disk.length).toBeGreaterThan(0)
      expect(disk.every((d) => d._tag === "Failed")).toBe(true)
    }).pipe(Effect.provide(TestLayer)))

  it.scopedLive("a queue over its limit drops the oldest, loudly, and deletes its file", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const stateDir = yield* tempDir
      const fake = yield* switchableReceiver("ops")
      const outcomes: Array<DeliveryResult> = []
      const outbox = yield* makeOutbox({
        stateDir,
        receivers: [fake.receiver],
        maxQueued: 3,
        onOutcome: (_, result) => Effect.sync(() => void outcomes.push(result)),
        ...fast
      })
      yield* Effect.forEach([1, 2, 3, 4, 5], (n) => outbox.enqueue("ops", eventNumber(n)), { discard: true })
      expect(yield* outbox.queueLength("ops")).toBe(3)
      expect(yield* listItems(outboxDir(stateDir, "ops"))).toEqual([3, 4, 5].map(itemFileName))
      expect(outcomes.filter((r) => r === "dropped")).toHaveLength(2)
      const dropped = logs.lines.filter((l) => l.includes("level=ERROR") && l.includes("notification queue full"))
      expect(dropped.map((l) => /event_id=(\w+)/.exec(l)?.[1])).toEqual([eventId(eventNumber(1)), eventId(eventNumber(2))])
      yield* Ref.set(fake.up, true)
      yield* awaitEmpty(outbox.queueLength("ops"))
      expect(yield* Ref.get(fake.delivered)).toEqual([3, 4, 5])
    }).pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, logs.layer)))
  })

  it.scopedLive("a rebuilt outbox (config reload) takes over what the previous one held in memory only", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = join(yield* tempDir, "state")
      yield* fs.writeFileString(stateDir, "not a directory")
      const handover = yield* makeHandover
      const scope = yield* Scope.make()
      const down = yield* switchableReceiver("ops")
      const first = yield* makeOutbox({ stateDir, receivers: [down.receiver], handover, ...fast }).pipe(Scope.extend(scope))
      yield* Effect.forEach([1, 2], (n) => first.enqueue("ops", eventNumber(n)), { discard: true })
      expect(yield* first.unsaved).toBe(2)
      yield* Scope.close(scope, Exit.void)

      yield* fs.remove(stateDir)
      const up = yield* switchableReceiver("ops")
      yield* Ref.set(up.up, true)
      const second = yield* makeOutbox({ stateDir, receivers: [up.receiver], handover, ...fast })
      yield* second.enqueue("ops", eventNumber(3))
      yield* awaitEmpty(second.queueLength("ops"))
      expect(yield* Ref.get(up.delivered)).toEqual([1, 2, 3])
    }).pipe(Effect.provide(TestLayer)))
})
