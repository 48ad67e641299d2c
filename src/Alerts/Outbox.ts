import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Data, Duration, Effect, Either, Queue, Ref, Schema, type Scope } from "effect"
import { join } from "node:path"
import { nextBackoff } from "../Core/Backoff.js"
import { AlertEvent } from "../Core/Domain/Alert.js"
import { isTempName, moveInto, writeFileAtomic } from "./AtomicFile.js"
import type { ReceiverError } from "./Receivers/ReceiverError.js"
import { eventId } from "./Receivers/WebhookPayload.js"

/**
 * Outcome of one delivery attempt, for `phala_drift_notifications_total{receiver,result}`:
 * - `success`: the receiver accepted the item; it is deleted.
 * - `retry`: a transient failure (network, timeout, 408/429/5xx); retried with backoff, capped at `retryCap`.
 * - `failure`: a permanent answer (other 4xx); kept and retried every `permanentBackoff`.
 * - `dead_letter`: permanent failures for longer than `deadLetterAfter`; moved to `dead/`.
 * - `corrupt`: the item file could not be read back; moved to `corrupt/`.
 * - `dropped`: the queue held `maxQueued` items already; the oldest was given up (logged with its event id).
 */
export type DeliveryResult = "success" | "retry" | "failure" | "dead_letter" | "corrupt" | "dropped"

export interface OutboxItem {
  readonly seq: number
  /** Epoch ms. */
  readonly enqueuedAt: number
  readonly event: AlertEvent
}

export interface OutboxReceiver {
  readonly name: string
  readonly deliver: (item: OutboxItem) => Effect.Effect<void, ReceiverError>
}

/** Result of one attempt to bring a receiver's outbox directory in line with its queue. */
export type DiskOutcome =
  | { readonly _tag: "Written" }
  | { readonly _tag: "Failed"; readonly path: string; readonly error: string }

/** A receiver's queue as it stood when its outbox closed, for the next outbox of the process (config reloads). */
export interface Leftover {
  readonly items: ReadonlyArray<{ readonly item: OutboxItem; readonly onDisk: boolean }>
  /** Items delivered or dropped whose file could not be deleted yet. */
  readonly orphans: ReadonlyArray<number>
  readonly nextSeq: number
}
export type Handover = Ref.Ref<ReadonlyMap<string, Leftover>>
export const makeHandover: Effect.Effect<Handover> = Ref.make<ReadonlyMap<string, Leftover>>(new Map())

export interface OutboxOptions {
  readonly stateDir: string
  readonly receivers: ReadonlyArray<OutboxReceiver>
  readonly onOutcome?: (receiver: string, result: DeliveryResult) => Effect.Effect<void>
  /** After every disk attempt that failed, and after the first one that worked again. */
  readonly onDisk?: (receiver: string, outcome: DiskOutcome) => Effect.Effect<void>
  /** First wait after a transient failure (delivery or disk); doubles (jittered) up to `retryCap`. */
  readonly retryBase?: Duration.Duration
  readonly retryCap?: Duration.Duration
  readonly permanentBackoff?: Duration.Duration
  readonly deadLetterAfter?: Duration.Duration
  /** How often the files of queued items are checked to still exist (a deleted directory is written again). */
  readonly auditInterval?: Duration.Duration
  /** Items one receiver may hold; beyond it the oldest is dropped, loudly. */
  readonly maxQueued?: number
  /** Queues of a previous outbox of this process: taken over at start, filled again when this one closes. */
  readonly handover?: Handover
}

export const outboxDefaults = {
  retryBase: Duration.seconds(1),
  retryCap: Duration.seconds(30),
  permanentBackoff: Duration.minutes(5),
  deadLetterAfter: Duration.hours(24),
  auditInterval: Duration.seconds(30),
  maxQueued: 10_000
} as const

export class OutboxError extends Data.TaggedError("OutboxError")<{
  readonly receiver: string
  readonly detail: string
}> {
  override get message(): string {
    return `outbox of receiver ${this.receiver}: ${this.detail}`
  }
}

export interface Outbox {
  /**
   * Queues the event for the receiver and writes it to disk; once this succeeds with a writable disk the event
   * survives a crash. When the disk cannot be written the event is kept in memory (and delivered from there) and
   * the write is retried; that is logged and reported through `onDisk`, never an error of `enqueue`.
   */
  readonly enqueue: (receiver: string, event: AlertEvent) => Effect.Effect<void, OutboxError>
  /** Items not yet delivered (including the one being sent); 0 for an unknown receiver. */
  readonly queueLength: (receiver: string) => Effect.Effect<number>
  readonly queueLengths: Effect.Effect<ReadonlyMap<string, number>>
  /** Items held in memory only because they could not be written yet, over all receivers. */
  readonly unsaved: Effect.Effect<number>
}

/** One item file; the same schema writes and reads it. */
const ItemFile = Schema.parseJson(Schema.Struct({
  version: Schema.Literal(1),
  seq: Schema.Int.pipe(Schema.positive()),
  enqueuedAt: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("enqueued_at")),
  event: AlertEvent
}))
const decodeItem = Schema.decodeUnknownEither(ItemFile)
const encodeItem = (item: OutboxItem): string => Schema.encodeSync(ItemFile)({ version: 1, ...item })

const seqDigits = 12
const itemPattern = /^(\d{12})\.json$/
export const itemFileName = (seq: number): string => `${String(seq).padStart(seqDigits, "0")}.json`
const seqOf = (name: string): number | null => {
  const match = itemPattern.exec(name)
  return match?.[1] === undefined ? null : Number(match[1])
}

/** A directory per receiver; names from the config are encoded so they cannot climb out of `outbox/`. */
export const receiverDirName = (receiver: string): string => {
  const encoded = encodeURIComponent(receiver)
  return encoded === "." || encoded === ".." ? encodeURIComponent(receiver.replace(/\./g, "%2E")) : encoded
}

export const outboxDir = (stateDir: string, receiver: string): string =>
  join(stateDir, "outbox", receiverDirName(receiver))

interface Entry {
  readonly item: OutboxItem
  /** The item's file is (believed to be) on disk; false while the disk refuses it. */
  readonly onDisk: boolean
}

interface ReceiverQueue {
  readonly receiver: OutboxReceiver
  readonly dir: string
  /** In sequence order; the head is delivered first. Delivery works from here, never from disk. */
  readonly entries: Ref.Ref<ReadonlyArray<Entry>>
  readonly orphans: Ref.Ref<ReadonlySet<number>>
  readonly nextSeq: Ref.Ref<number>
  /** Consecutive failed disk attempts; while > 0 only the disk loop retries, with backoff. */
  readonly diskFailures: Ref.Ref<number>
  /** Serialises queue bookkeeping and disk work, so file order follows queue order. */
  readonly lock: Effect.Semaphore
  readonly doorbell: Queue.Queue<void>
  readonly diskBell: Queue.Queue<void>
}

const isNotFound = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"

/**
 * A per-receiver queue of alert events with one delivery fiber per receiver, alive as long as the scope. Every
 * item is held in memory and written to `<stateDir>/outbox/<receiver>/<seq>.json` (atomically) so it survives a
 * crash; delivery goes strictly in sequence order from memory: item N+1 waits until N was accepted (or
 * dead-lettered). What is on disk at start-up is read once and delivered first; an item that cannot be read is
 * moved to `corrupt/` and the rest go on.
 *
 * The disk may fail at any time (full, deleted, read-only): items then stay in memory and are delivered from
 * there, while a disk fiber per receiver retries the writes with backoff, recreates the directories and, every
 * `auditInterval`, writes again any queued item whose file vanished. Each failed attempt is logged and reported.
 *
 * Delivery is at-least-once: a crash between a successful send and the delete sends that item again after the
 * restart, with the same `X-Phala-Drift-Event-Id`, so receivers can drop the duplicate. One process per state
 * directory (the state_dir lock).
 */
export const makeOutbox = (
  options: OutboxOptions
): Effect.Effect<Outbox, never, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const retryBase = options.retryBase ?? outboxDefaults.retryBase
    const retryCap = options.retryCap ?? outboxDefaults.retryCap
    const permanentBackoff = options.permanentBackoff ?? outboxDefaults.permanentBackoff
    const deadLetterAfter = Duration.toMillis(options.deadLetterAfter ?? outboxDefaults.deadLetterAfter)
    const auditInterval = options.auditInterval ?? outboxDefaults.auditInterval
    const maxQueued = Math.max(1, options.maxQueued ?? outboxDefaults.maxQueued)
    const report = options.onOutcome ?? (() => Effect.void)
    const reportDisk = options.onDisk ?? (() => Effect.void)
    const handover = options.handover ?? (yield* makeHandover)
    const withFs = Effect.provideService(FileSystem.FileSystem, fs)

    const scan = (dir: string) =>
      fs.readDirectory(dir).pipe(Effect.catchIf(isNotFound, () => Effect.succeed<Array<string>>([])))

    const backoff = (failures: number) => nextBackoff({ base: retryBase, cap: retryCap }, failures)

    const countUnsaved = (queue: ReceiverQueue) =>
      Effect.map(Ref.get(queue.entries), (entries) => entries.filter((e) => !e.onDisk).length)

    const diskFailed = (queue: ReceiverQueue, error: PlatformError) =>
      Effect.gen(function*() {
        const attempt = yield* Ref.updateAndGet(queue.diskFailures, (n) => n + 1)
        yield* Effect.logError("cannot write the notification outbox; notifications are kept in memory and retried").pipe(
          Effect.annotateLogs({
            receiver: queue.receiver.name,
            path: queue.dir,
            error: error.message,
            attempt,
            unsaved: yield* countUnsaved(queue)
          })
        )
        yield* reportDisk(queue.receiver.name, { _tag: "Failed", path: queue.dir, error: error.message })
        yield* Queue.offer(queue.diskBell, undefined)
      })

    const diskRecovered = (queue: ReceiverQueue) =>
      Effect.gen(function*() {
        if ((yield* Ref.getAndSet(queue.diskFailures, 0)) === 0) return
        yield* Effect.logInfo("notification outbox writable again; queued notifications are on disk").pipe(
          Effect.annotateLogs({ receiver: queue.receiver.name, path: queue.dir, items: (yield* Ref.get(queue.entries)).length })
        )
        yield* reportDisk(queue.receiver.name, { _tag: "Written" })
      })

    /** Reads what a previous process left; unreadable items go to `corrupt/` so they never block the others. */
    const load = (receiver: OutboxReceiver, dir: string, skip: ReadonlySet<number>) =>
      Effect.gen(function*() {
        const names = yield* scan(dir)
        // a temp file is a write that crashed before its rename: the caller never saw that enqueue succeed
        yield* Effect.forEach(names.filter(isTempName), (name) => Effect.ignore(fs.remove(join(dir, name))))
        const seqs = names.flatMap((name) => {
          const seq = seqOf(name)
          return seq === null || skip.has(seq) ? [] : [seq]
        }).sort((a, b) => a - b)
        const loaded: Array<Entry> = []
        for (const seq of seqs) {
          const text = yield* Effect.either(fs.readFileString(join(dir, itemFileName(seq))))
          if (Either.isLeft(text) && isNotFound(text.left)) continue
          const decoded = Either.isLeft(text)
            ? Either.left(text.left.message)
            : Either.mapLeft(decodeItem(text.right), (error) => error.message.slice(0, 300))
          if (Either.isLeft(decoded)) {
            yield* Effect.logError("unreadable notification moved aside; the next ones go on").pipe(
              Effect.annotateLogs({ receiver: receiver.name, seq, folder: "corrupt", error: decoded.left })
            )
            yield* moveInto(join(dir, itemFileName(seq)), join(dir, "corrupt")).pipe(
              withFs,
              Effect.catchAll((error) =>
                Effect.logError("could not move the unreadable notification aside; it is skipped").pipe(
                  Effect.annotateLogs({ receiver: receiver.name, seq, error: error.message })
                )
              )
            )
            yield* report(receiver.name, "corrupt")
            continue
          }
          const file = decoded.right
          loaded.push({ item: { seq, enqueuedAt: file.enqueuedAt, event: file.event }, onDisk: true })
        }
        // names moved aside still count, so a later item never lands on an existing file there
        const scanAside = (folder: string) => Effect.orElseSucceed(scan(join(dir, folder)), (): Array<string> => [])
        const asideNames = [...yield* scanAside("corrupt"), ...yield* scanAside("dead")]
        const highest = [...names, ...asideNames].reduce<number>((max, name) => Math.max(max, seqOf(name) ?? 0), 0)
        return { loaded, highest }
      })

    const open = (receiver: OutboxReceiver) =>
      Effect.gen(function*() {
        const dir = outboxDir(options.stateDir, receiver.name)
        const left = (yield* Ref.get(handover)).get(receiver.name)
        const carried: ReadonlyArray<Entry> = left?.items ?? []
        const orphans = new Set(left?.orphans ?? [])
        const skip = new Set([...carried.map((e) => e.item.seq), ...orphans])
        const disk = yield* Effect.either(
          fs.makeDirectory(dir, { recursive: true }).pipe(Effect.zipRight(load(receiver, dir, skip)))
        )
        const loaded = Either.isRight(disk) ? disk.right.loaded : []
        const highest = Either.isRight(disk) ? disk.right.highest : 0
        const entries = [...carried, ...loaded].sort((a, b) => a.item.seq - b.item.seq)
        if (loaded.length > 0) {
          yield* Effect.logInfo("resuming undelivered notifications").pipe(
            Effect.annotateLogs({ receiver: receiver.name, items: loaded.length })
          )
        }
        const queue: ReceiverQueue = {
          receiver,
          dir,
          entries: yield* Ref.make<ReadonlyArray<Entry>>(entries),
          orphans: yield* Ref.make<ReadonlySet<number>>(orphans),
          nextSeq: yield* Ref.make(Math.max(highest + 1, left?.nextSeq ?? 1, ...entries.map((e) => e.item.seq + 1))),
          diskFailures: yield* Ref.make(0),
          lock: yield* Effect.makeSemaphore(1),
          doorbell: yield* Queue.sliding<void>(1),
          diskBell: yield* Queue.sliding<void>(1)
        }
        if (Either.isLeft(disk)) yield* diskFailed(queue, disk.left)
        return queue
      })

    const queues = new Map<string, ReceiverQueue>()
    for (const receiver of options.receivers) queues.set(receiver.name, yield* open(receiver))
    yield* Ref.update(handover, (m) => {
      const next = new Map(m)
      for (const name of queues.keys()) next.delete(name)
      return next
    })

    const markOnDisk = (queue: ReceiverQueue, seq: number, onDisk: boolean) =>
      Ref.update(queue.entries, (entries) => entries.map((e) => (e.item.seq === seq ? { ...e, onDisk } : e)))

    /** Writes every item not on disk, in order, and deletes the files of items no longer queued. */
    const flush = (queue: ReceiverQueue): Effect.Effect<void, PlatformError> =>
      queue.lock.withPermits(1)(Effect.gen(function*() {
        const unsaved = (yield* Ref.get(queue.entries)).filter((e) => !e.onDisk)
        const orphans = yield* Ref.get(queue.orphans)
        if (unsaved.length === 0 && orphans.size === 0) return
        yield* fs.makeDirectory(queue.dir, { recursive: true })
        for (const { item } of unsaved) {
          yield* writeFileAtomic(join(queue.dir, itemFileName(item.seq)), encodeItem(item)).pipe(withFs)
          yield* markOnDisk(queue, item.seq, true)
        }
        for (const seq of orphans) {
          yield* fs.remove(join(queue.dir, itemFileName(seq))).pipe(Effect.catchIf(isNotFound, () => Effect.void))
          yield* Ref.update(queue.orphans, (set) => new Set([...set].filter((s) => s !== seq)))
        }
      }))

    /** Queued items whose file vanished (directory deleted) are marked for writing again. */
    const audit = (queue: ReceiverQueue): Effect.Effect<void, PlatformError> =>
      queue.lock.withPermits(1)(Effect.gen(function*() {
        const onDisk = (yield* Ref.get(queue.entries)).filter((e) => e.onDisk)
        if (onDisk.length === 0) return
        const names = new Set(yield* scan(queue.dir))
        const missing = onDisk.filter((e) => !names.has(itemFileName(e.item.seq)))
        if (missing.length === 0) return
        yield* Effect.logWarning("queued notifications vanished from disk; writing them again").pipe(
          Effect.annotateLogs({ receiver: queue.receiver.name, path: queue.dir, items: missing.length })
        )
        for (const { item } of missing) yield* markOnDisk(queue, item.seq, false)
      }))

    const diskLoop = (queue: ReceiverQueue) =>
      Effect.gen(function*() {
        while (true) {
          const failures = yield* Ref.get(queue.diskFailures)
          if (failures === 0) {
            yield* Effect.race(Queue.take(queue.diskBell), Effect.sleep(auditInterval))
            if ((yield* Ref.get(queue.diskFailures)) > 0) continue
          } else {
            yield* Effect.sleep(yield* backoff(failures))
          }
          const attempt = yield* Effect.either(audit(queue).pipe(Effect.zipRight(flush(queue))))
          if (Either.isLeft(attempt)) yield* diskFailed(queue, attempt.left)
          else yield* diskRecovered(queue)
        }
      })

    /**
     * Takes a finished item off the queue; its file is deleted (later, when the disk refuses now) or moved to
     * `dead/`. A dead letter that cannot be moved stays where it is, to be tried again after a restart.
     */
    const settle = (queue: ReceiverQueue, seq: number, folder: "dead" | null) =>
      queue.lock.withPermits(1)(Effect.gen(function*() {
        const entry = (yield* Ref.get(queue.entries)).find((e) => e.item.seq === seq)
        if (entry === undefined) return null
        const path = join(queue.dir, itemFileName(seq))
        const deadDir = join(queue.dir, "dead")
        const done = folder === null
          ? entry.onDisk ? fs.remove(path).pipe(Effect.catchIf(isNotFound, () => Effect.void)) : Effect.void
          : entry.onDisk
          ? Effect.asVoid(moveInto(path, deadDir))
          : fs.makeDirectory(deadDir, { recursive: true }).pipe(
            Effect.zipRight(writeFileAtomic(join(deadDir, itemFileName(seq)), encodeItem(entry.item)))
          )
        const result = yield* Effect.either(withFs(done))
        yield* Ref.update(queue.entries, (entries) => entries.filter((e) => e.item.seq !== seq))
        if (Either.isRight(result)) return null
        if (folder === null) yield* Ref.update(queue.orphans, (set) => new Set([...set, seq]))
        return result.left
      }))

    const deliveryLoop = (queue: ReceiverQueue) =>
      Effect.gen(function*() {
        const name = queue.receiver.name
        let transientFailures = 0
        let permanentSince: number | null = null
        while (true) {
          const head = (yield* Ref.get(queue.entries))[0]
          if (head === undefined) {
            yield* Queue.take(queue.doorbell)
            continue
          }
          const item = head.item
          const annotations = { receiver: name, seq: item.seq, event_id: eventId(item.event), alertname: item.event.alert.name }
          const sent = yield* Effect.either(queue.receiver.deliver(item))
          const now = yield* Clock.currentTimeMillis
          if (Either.isRight(sent)) {
            yield* report(name, "success")
            const failed = yield* settle(queue, item.seq, null)
            if (failed !== null) {
              yield* Effect.logError("delivered notification could not be deleted; deleting it is retried").pipe(
                Effect.annotateLogs({ ...annotations, error: failed.message })
              )
              yield* diskFailed(queue, failed)
            }
            yield* Effect.logDebug("notification delivered").pipe(Effect.annotateLogs(annotations))
            transientFailures = 0
            permanentSince = null
            continue
          }
          const error = sent.left
          if (error.transient) {
            transientFailures++
            permanentSince = null
            const wait = yield* backoff(transientFailures)
            yield* report(name, "retry")
            yield* Effect.logWarning("notification not delivered, will retry").pipe(
              Effect.annotateLogs({ ...annotations, error: error.message, wait_ms: Math.round(Duration.toMillis(wait)) })
            )
            yield* Effect.sleep(wait)
            continue
          }
          transientFailures = 0
          permanentSince ??= now
          if (now - permanentSince >= deadLetterAfter) {
            yield* Effect.logError("notification rejected for too long, moved to dead letters").pipe(
              Effect.annotateLogs({ ...annotations, kind: item.event.kind, error: error.message, folder: "dead" })
            )
            const failed = yield* settle(queue, item.seq, "dead")
            if (failed !== null) {
              yield* Effect.logError("could not keep the dead letter on disk; it is only in this log").pipe(
                Effect.annotateLogs({ ...annotations, kind: item.event.kind, error: failed.message })
              )
              yield* diskFailed(queue, failed)
            }
            yield* report(name, "dead_letter")
            permanentSince = null
            continue
          }
          yield* report(name, "failure")
          yield* Effect.logError("notification rejected by receiver, will retry later").pipe(
            Effect.annotateLogs({ ...annotations, error: error.message, wait_ms: Duration.toMillis(permanentBackoff) })
          )
          yield* Effect.sleep(permanentBackoff)
        }
      })

    // a bug in one loop (a throwing onOutcome hook, say) must not silently stop that receiver's work
    const supervised = (queue: ReceiverQueue, what: string, loop: Effect.Effect<never, unknown>) =>
      loop.pipe(
        Effect.catchAllCause((cause) =>
          Effect.logError(`outbox ${what} loop failed, restarting`).pipe(
            Effect.annotateLogs({ receiver: queue.receiver.name }),
            Effect.zipRight(Effect.logDebug(cause)),
            Effect.zipRight(Effect.sleep(retryCap))
          )
        ),
        Effect.forever,
        Effect.annotateLogs({ service: "Outbox" })
      )

    // what is still queued when this outbox closes (a reload rebuilds it) goes to the next one, not to waste
    yield* Effect.addFinalizer(() =>
      Effect.forEach([...queues.values()], (queue) =>
        Effect.gen(function*() {
          const leftover: Leftover = {
            items: yield* Ref.get(queue.entries),
            orphans: [...yield* Ref.get(queue.orphans)],
            nextSeq: yield* Ref.get(queue.nextSeq)
          }
          yield* Ref.update(handover, (m) => new Map(m).set(queue.receiver.name, leftover))
        }), { discard: true })
    )
    // explicitly interruptible: a caller may build the outbox inside an uninterruptible acquire (ScopedRef), and a
    // fiber forked there would inherit that and hold up shutdown forever
    for (const queue of queues.values()) {
      yield* Effect.forkScoped(Effect.interruptible(supervised(queue, "delivery", deliveryLoop(queue))))
      yield* Effect.forkScoped(Effect.interruptible(supervised(queue, "disk", diskLoop(queue))))
    }

    const enqueue = (receiver: string, event: AlertEvent): Effect.Effect<void, OutboxError> => {
      const queue = queues.get(receiver)
      if (queue === undefined) return Effect.fail(new OutboxError({ receiver, detail: "no such receiver" }))
      return Effect.gen(function*() {
        const enqueuedAt = yield* Clock.currentTimeMillis
        const dropped = yield* queue.lock.withPermits(1)(Effect.gen(function*() {
          const seq = yield* Ref.getAndUpdate(queue.nextSeq, (n) => n + 1)
          const entries = yield* Ref.get(queue.entries)
          const over = entries.length >= maxQueued ? entries.slice(0, entries.length - maxQueued + 1) : []
          const kept = entries.slice(over.length)
          yield* Ref.set(queue.entries, [...kept, { item: { seq, enqueuedAt, event }, onDisk: false }])
          const droppedOnDisk = over.filter((e) => e.onDisk).map((e) => e.item.seq)
          if (droppedOnDisk.length > 0) yield* Ref.update(queue.orphans, (set) => new Set([...set, ...droppedOnDisk]))
          return over
        }).pipe(Effect.uninterruptible))
        for (const { item } of dropped) {
          yield* Effect.logError("notification queue full: the oldest notification is dropped").pipe(
            Effect.annotateLogs({
              receiver,
              limit: maxQueued,
              seq: item.seq,
              event_id: eventId(item.event),
              alertname: item.event.alert.name,
              kind: item.event.kind,
              fingerprint: item.event.alert.fingerprint
            })
          )
          yield* report(receiver, "dropped")
        }
        // while the disk is known to fail, the disk fiber retries on its own schedule; the event waits in memory
        if ((yield* Ref.get(queue.diskFailures)) === 0) {
          const written = yield* Effect.either(flush(queue))
          if (Either.isLeft(written)) yield* diskFailed(queue, written.left)
        } else {
          yield* Effect.logWarning("notification held in memory until the outbox can be written").pipe(
            Effect.annotateLogs({ receiver, event_id: eventId(event), unsaved: yield* countUnsaved(queue) })
          )
        }
        yield* Queue.offer(queue.doorbell, undefined)
      }).pipe(Effect.annotateLogs({ service: "Outbox" }))
    }

    const queueLength = (receiver: string): Effect.Effect<number> => {
      const queue = queues.get(receiver)
      return queue === undefined ? Effect.succeed(0) : Effect.map(Ref.get(queue.entries), (entries) => entries.length)
    }

    const queueLengths = Effect.map(
      Effect.forEach([...queues.keys()], (name) => Effect.map(queueLength(name), (n) => [name, n] as const)),
      (entries): ReadonlyMap<string, number> => new Map(entries)
    )

    const unsaved = Effect.map(
      Effect.forEach([...queues.values()], countUnsaved),
      (counts) => counts.reduce((a, b) => a + b, 0)
    )

    return { enqueue, queueLength, queueLengths, unsaved }
  })
