import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Data, Duration, Effect, Either, Queue, Random, Ref, type Scope } from "effect"
import { jitterRange, nextBackoff } from "../Core/Backoff.js"
import { type Attempt, decide, type DeliveryPolicy, freshHead, nextItem } from "../Core/Alerting/Delivery.js"
import type { AlertEvent } from "../Core/Domain/Alert.js"
import { diskStore, type OutboxItem, type OutboxStore, outboxDir } from "./OutboxStore.js"
import type { ReceiverError } from "./Receivers/ReceiverError.js"
import { eventId } from "./Receivers/WebhookPayload.js"

export { type OutboxItem, outboxDir }

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
  readonly items: ReadonlyArray<{ readonly item: OutboxItem; readonly onDisk: boolean; readonly held: boolean }>
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
  /**
   * As `enqueue`, but the event is held (queued and written, not delivered) until `release`: the alert state that
   * goes with it is saved in between, so that no receiver hears of an event the saved state does not know.
   */
  readonly stage: (receiver: string, event: AlertEvent) => Effect.Effect<void, OutboxError>
  /** Lets every held event go, in order. */
  readonly release: Effect.Effect<void>
  /** Every event still queued (all receivers), to bring a loaded alert state in line with it. */
  readonly queued: Effect.Effect<ReadonlyArray<AlertEvent>>
  /** Items not yet delivered (including the one being sent); 0 for an unknown receiver. */
  readonly queueLength: (receiver: string) => Effect.Effect<number>
  readonly queueLengths: Effect.Effect<ReadonlyMap<string, number>>
  /** Items held in memory only because they could not be written yet, over all receivers. */
  readonly unsaved: Effect.Effect<number>
}

interface Entry {
  readonly item: OutboxItem
  /** The item's file is (believed to be) on disk; false while the disk refuses it. */
  readonly onDisk: boolean
  /** Staged and not yet released: not delivered. */
  readonly held: boolean
}

interface ReceiverQueue {
  readonly receiver: OutboxReceiver
  readonly store: OutboxStore
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

/**
 * A per-receiver queue of alert events with one delivery fiber per receiver, alive as long as the scope. Every
 * item is held in memory and written to `<stateDir>/outbox/<receiver>/<seq>.json` (OutboxStore.ts) so it survives
 * a crash; delivery goes strictly in sequence order from memory: item N+1 waits until N was accepted (or
 * dead-lettered). What each attempt's outcome means (retry after a backoff, keep for later, dead letter) is decided
 * by the pure rules of Core/Alerting/Delivery.ts. What is on disk at start-up is read once and delivered first; an
 * item that cannot be read is moved to `corrupt/` and the rest go on.
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
    const policy: DeliveryPolicy = {
      backoff: { base: retryBase, cap: retryCap },
      permanentBackoff: options.permanentBackoff ?? outboxDefaults.permanentBackoff,
      deadLetterAfter: options.deadLetterAfter ?? outboxDefaults.deadLetterAfter
    }
    const auditInterval = options.auditInterval ?? outboxDefaults.auditInterval
    const maxQueued = Math.max(1, options.maxQueued ?? outboxDefaults.maxQueued)
    const report = options.onOutcome ?? (() => Effect.void)
    const reportDisk = options.onDisk ?? (() => Effect.void)
    const handover = options.handover ?? (yield* makeHandover)

    const backoff = (failures: number) => nextBackoff(policy.backoff, failures)

    const countUnsaved = (queue: ReceiverQueue) =>
      Effect.map(Ref.get(queue.entries), (entries) => entries.filter((e) => !e.onDisk).length)

    const diskFailed = (queue: ReceiverQueue, error: PlatformError) =>
      Effect.gen(function*() {
        const attempt = yield* Ref.updateAndGet(queue.diskFailures, (n) => n + 1)
        yield* Effect.logError("cannot write the notification outbox; notifications are kept in memory and retried").pipe(
          Effect.annotateLogs({
            receiver: queue.receiver.name,
            path: queue.store.dir,
            error: error.message,
            attempt,
            unsaved: yield* countUnsaved(queue)
          })
        )
        yield* reportDisk(queue.receiver.name, { _tag: "Failed", path: queue.store.dir, error: error.message })
        yield* Queue.offer(queue.diskBell, undefined)
      })

    const diskRecovered = (queue: ReceiverQueue) =>
      Effect.gen(function*() {
        if ((yield* Ref.getAndSet(queue.diskFailures, 0)) === 0) return
        yield* Effect.logInfo("notification outbox writable again; queued notifications are on disk").pipe(
          Effect.annotateLogs({ receiver: queue.receiver.name, path: queue.store.dir, items: (yield* Ref.get(queue.entries)).length })
        )
        yield* reportDisk(queue.receiver.name, { _tag: "Written" })
      })

    const open = (receiver: OutboxReceiver) =>
      Effect.gen(function*() {
        const store = diskStore(fs, outboxDir(options.stateDir, receiver.name))
        const left = (yield* Ref.get(handover)).get(receiver.name)
        // a held item of a closed outbox has nobody left to release it: it goes with the rest
        const carried: ReadonlyArray<Entry> = (left?.items ?? []).map((e) => ({ ...e, held: false }))
        const orphans = new Set(left?.orphans ?? [])
        const skip = new Set([...carried.map((e) => e.item.seq), ...orphans])
        const disk = yield* Effect.either(store.load(skip))
        if (Either.isRight(disk)) {
          for (const { error, moveError, seq } of disk.right.corrupt) {
            yield* Effect.logError("unreadable notification moved aside; the next ones go on").pipe(
              Effect.annotateLogs({ receiver: receiver.name, seq, folder: "corrupt", error })
            )
            if (moveError !== null) {
              yield* Effect.logError("could not move the unreadable notification aside; it is skipped").pipe(
                Effect.annotateLogs({ receiver: receiver.name, seq, error: moveError })
              )
            }
            yield* report(receiver.name, "corrupt")
          }
        }
        const loaded: ReadonlyArray<Entry> = Either.isRight(disk)
          ? disk.right.items.map((item) => ({ item, onDisk: true, held: false }))
          : []
        const highest = Either.isRight(disk) ? disk.right.highest : 0
        const entries = [...carried, ...loaded].sort((a, b) => a.item.seq - b.item.seq)
        if (loaded.length > 0) {
          yield* Effect.logInfo("resuming undelivered notifications").pipe(
            Effect.annotateLogs({ receiver: receiver.name, items: loaded.length })
          )
        }
        const queue: ReceiverQueue = {
          receiver,
          store,
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
        yield* queue.store.ensureDir
        for (const { item } of unsaved) {
          yield* queue.store.write(item)
          yield* markOnDisk(queue, item.seq, true)
        }
        for (const seq of orphans) {
          yield* queue.store.remove(seq)
          yield* Ref.update(queue.orphans, (set) => new Set([...set].filter((s) => s !== seq)))
        }
      }))

    /** Queued items whose file vanished (directory deleted) are marked for writing again. */
    const audit = (queue: ReceiverQueue): Effect.Effect<void, PlatformError> =>
      queue.lock.withPermits(1)(Effect.gen(function*() {
        const onDisk = (yield* Ref.get(queue.entries)).filter((e) => e.onDisk)
        if (onDisk.length === 0) return
        const present = yield* queue.store.present
        const missing = onDisk.filter((e) => !present.has(e.item.seq))
        if (missing.length === 0) return
        yield* Effect.logWarning("queued notifications vanished from disk; writing them again").pipe(
          Effect.annotateLogs({ receiver: queue.receiver.name, path: queue.store.dir, items: missing.length })
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
        const done = folder === null
          ? entry.onDisk ? queue.store.remove(seq) : Effect.void
          : queue.store.deadLetter(entry.item, entry.onDisk)
        const result = yield* Effect.either(done)
        yield* Ref.update(queue.entries, (entries) => entries.filter((e) => e.item.seq !== seq))
        if (Either.isRight(result)) return null
        if (folder === null) yield* Ref.update(queue.orphans, (set) => new Set([...set, seq]))
        return result.left
      }))

    const deliveryLoop = (queue: ReceiverQueue) =>
      Effect.gen(function*() {
        const name = queue.receiver.name
        let head = freshHead
        while (true) {
          const item = nextItem(yield* Ref.get(queue.entries))
          if (item === null) {
            yield* Queue.take(queue.doorbell)
            continue
          }
          const annotations = { receiver: name, seq: item.seq, event_id: eventId(item.event), alertname: item.event.alert.name }
          const sent = yield* Effect.either(queue.receiver.deliver(item))
          const attempt: Attempt = Either.isRight(sent) ? { _tag: "Accepted" } : { _tag: "Refused", transient: sent.left.transient }
          const jitter = attempt._tag === "Refused" && attempt.transient
            ? yield* Random.nextRange(jitterRange.min, jitterRange.max)
            : 1
          const [decision, next] = decide(head, attempt, yield* Clock.currentTimeMillis, policy, jitter)
          head = next
          const error = Either.isLeft(sent) ? sent.left.message : ""
          switch (decision._tag) {
            case "Delivered": {
              yield* report(name, "success")
              const failed = yield* settle(queue, item.seq, null)
              if (failed !== null) {
                yield* Effect.logError("delivered notification could not be deleted; deleting it is retried").pipe(
                  Effect.annotateLogs({ ...annotations, error: failed.message })
                )
                yield* diskFailed(queue, failed)
              }
              yield* Effect.logDebug("notification delivered").pipe(Effect.annotateLogs(annotations))
              break
            }
            case "RetryAfter": {
              yield* report(name, decision.result)
              const wait_ms = Math.round(Duration.toMillis(decision.wait))
              yield* decision.result === "retry"
                ? Effect.logWarning("notification not delivered, will retry").pipe(Effect.annotateLogs({ ...annotations, error, wait_ms }))
                : Effect.logError("notification rejected by receiver, will retry later").pipe(Effect.annotateLogs({ ...annotations, error, wait_ms }))
              yield* Effect.sleep(decision.wait)
              break
            }
            case "DeadLetter": {
              yield* Effect.logError("notification rejected for too long, moved to dead letters").pipe(
                Effect.annotateLogs({ ...annotations, kind: item.event.kind, error, folder: "dead" })
              )
              const failed = yield* settle(queue, item.seq, "dead")
              if (failed !== null) {
                yield* Effect.logError("could not keep the dead letter on disk; it is only in this log").pipe(
                  Effect.annotateLogs({ ...annotations, kind: item.event.kind, error: failed.message })
                )
                yield* diskFailed(queue, failed)
              }
              yield* report(name, "dead_letter")
              break
            }
          }
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

    const add = (receiver: string, event: AlertEvent, held: boolean): Effect.Effect<void, OutboxError> => {
      const queue = queues.get(receiver)
      if (queue === undefined) return Effect.fail(new OutboxError({ receiver, detail: "no such receiver" }))
      return Effect.gen(function*() {
        const enqueuedAt = yield* Clock.currentTimeMillis
        const dropped = yield* queue.lock.withPermits(1)(Effect.gen(function*() {
          const seq = yield* Ref.getAndUpdate(queue.nextSeq, (n) => n + 1)
          const entries = yield* Ref.get(queue.entries)
          const over = entries.length >= maxQueued ? entries.slice(0, entries.length - maxQueued + 1) : []
          const kept = entries.slice(over.length)
          yield* Ref.set(queue.entries, [...kept, { item: { seq, enqueuedAt, event }, onDisk: false, held }])
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
        if (!held) yield* Queue.offer(queue.doorbell, undefined)
      }).pipe(Effect.annotateLogs({ service: "Outbox" }))
    }

    const release = Effect.forEach([...queues.values()], (queue) =>
      Effect.gen(function*() {
        const entries = yield* Ref.get(queue.entries)
        if (!entries.some((e) => e.held)) return
        yield* Ref.set(queue.entries, entries.map((e) => (e.held ? { ...e, held: false } : e)))
        yield* Queue.offer(queue.doorbell, undefined)
      }), { discard: true })

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

    const queued = Effect.map(
      Effect.forEach([...queues.values()], (queue) => Ref.get(queue.entries)),
      (all) => all.flat().map((entry) => entry.item.event)
    )

    return {
      enqueue: (receiver, event) => add(receiver, event, false),
      stage: (receiver, event) => add(receiver, event, true),
      release,
      queued,
      queueLength,
      queueLengths,
      unsaved
    }
  })
