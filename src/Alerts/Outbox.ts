import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Data, Duration, Effect, Either, Queue, Random, Ref, Schema, type Scope } from "effect"
import { join } from "node:path"
import type { AlertEvent } from "../Domain/Alert.js"
import { AlertEventSchema } from "./AlertSchema.js"
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
 */
export type DeliveryResult = "success" | "retry" | "failure" | "dead_letter" | "corrupt"

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

export interface OutboxOptions {
  readonly stateDir: string
  readonly receivers: ReadonlyArray<OutboxReceiver>
  readonly onOutcome?: (receiver: string, result: DeliveryResult) => Effect.Effect<void>
  /** First wait after a transient failure; doubles (jittered) up to `retryCap`. */
  readonly retryBase?: Duration.Duration
  readonly retryCap?: Duration.Duration
  readonly permanentBackoff?: Duration.Duration
  readonly deadLetterAfter?: Duration.Duration
}

export const outboxDefaults = {
  retryBase: Duration.seconds(1),
  retryCap: Duration.seconds(30),
  permanentBackoff: Duration.minutes(5),
  deadLetterAfter: Duration.hours(24)
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
  /** Durably queues the event for the receiver; once this succeeds the event survives a crash. */
  readonly enqueue: (receiver: string, event: AlertEvent) => Effect.Effect<void, OutboxError>
  /** Items not yet delivered (including the one being sent); 0 for an unknown receiver. */
  readonly queueLength: (receiver: string) => Effect.Effect<number>
  readonly queueLengths: Effect.Effect<ReadonlyMap<string, number>>
}

const ItemFile = Schema.Struct({
  version: Schema.Literal(1),
  seq: Schema.Int.pipe(Schema.positive()),
  enqueued_at: Schema.Number,
  event: AlertEventSchema
})
const decodeItem = Schema.decodeUnknownEither(Schema.parseJson(ItemFile))

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

interface ReceiverQueue {
  readonly receiver: OutboxReceiver
  readonly dir: string
  readonly pending: Ref.Ref<ReadonlyArray<number>>
  readonly nextSeq: Ref.Ref<number>
  readonly lock: Effect.Semaphore
  readonly doorbell: Queue.Queue<void>
}

/**
 * A durable per-receiver queue of alert events (one file per item under `<stateDir>/outbox/<receiver>/`) with one
 * delivery fiber per receiver, alive as long as the scope. Items go out strictly in sequence order: item N+1
 * waits until N was accepted (or dead-lettered). What is on disk at start-up is delivered first.
 *
 * Delivery is at-least-once: a crash between a successful send and the delete sends that item again after the
 * restart, with the same `X-Phala-Drift-Event-Id`, so receivers can drop the duplicate. Only one outbox may
 * use a state directory at a time.
 */
export const makeOutbox = (
  options: OutboxOptions
): Effect.Effect<Outbox, PlatformError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const retryBase = options.retryBase ?? outboxDefaults.retryBase
    const retryCap = options.retryCap ?? outboxDefaults.retryCap
    const permanentBackoff = options.permanentBackoff ?? outboxDefaults.permanentBackoff
    const deadLetterAfter = Duration.toMillis(options.deadLetterAfter ?? outboxDefaults.deadLetterAfter)
    const report = options.onOutcome ?? (() => Effect.void)

    const scan = (dir: string) =>
      fs.exists(dir).pipe(Effect.flatMap((exists) => (exists ? fs.readDirectory(dir) : Effect.succeed([]))))

    const open = (receiver: OutboxReceiver) =>
      Effect.gen(function*() {
        const dir = outboxDir(options.stateDir, receiver.name)
        yield* fs.makeDirectory(dir, { recursive: true })
        const names = yield* scan(dir)
        // a temp file is a write that crashed before its rename: the caller never saw that enqueue succeed
        yield* Effect.forEach(names.filter(isTempName), (name) => Effect.ignore(fs.remove(join(dir, name))))
        const seqs = names.flatMap((name) => {
          const seq = seqOf(name)
          return seq === null ? [] : [seq]
        }).sort((a, b) => a - b)
        // names moved aside still count, so a later item never lands on an existing file there
        const asideNames = [...yield* scan(join(dir, "corrupt")), ...yield* scan(join(dir, "dead"))]
        const highest = [...seqs, ...asideNames.map(seqOf)].reduce<number>((max, seq) => Math.max(max, seq ?? 0), 0)
        if (seqs.length > 0) {
          yield* Effect.logInfo("resuming undelivered notifications").pipe(
            Effect.annotateLogs({ receiver: receiver.name, items: seqs.length })
          )
        }
        const queue: ReceiverQueue = {
          receiver,
          dir,
          pending: yield* Ref.make<ReadonlyArray<number>>(seqs),
          nextSeq: yield* Ref.make(highest + 1),
          lock: yield* Effect.makeSemaphore(1),
          doorbell: yield* Queue.sliding<void>(1)
        }
        return queue
      })

    const queues = new Map<string, ReceiverQueue>()
    for (const receiver of options.receivers) queues.set(receiver.name, yield* open(receiver))

    const dropHead = (queue: ReceiverQueue) => Ref.update(queue.pending, (seqs) => seqs.slice(1))

    const moveAside = (queue: ReceiverQueue, seq: number, folder: "corrupt" | "dead") =>
      moveInto(join(queue.dir, itemFileName(seq)), join(queue.dir, folder)).pipe(
        Effect.catchAll((error) =>
          Effect.logError("could not move notification aside").pipe(
            Effect.annotateLogs({ receiver: queue.receiver.name, seq, folder, error: error.message })
          )
        )
      )

    const backoff = (failures: number) =>
      Effect.map(Random.nextRange(0.8, 1.2), (jitter) =>
        Duration.min(retryCap, Duration.millis(Duration.toMillis(retryBase) * 2 ** Math.min(failures - 1, 30) * jitter)))

    const deliveryLoop = (queue: ReceiverQueue) =>
      Effect.gen(function*() {
        const name = queue.receiver.name
        let transientFailures = 0
        let permanentSince: number | null = null
        while (true) {
          const seq = (yield* Ref.get(queue.pending))[0]
          if (seq === undefined) {
            yield* Queue.take(queue.doorbell)
            continue
          }
          const path = join(queue.dir, itemFileName(seq))
          const text = yield* Effect.either(fs.readFileString(path))
          if (Either.isLeft(text)) {
            if (text.left._tag === "SystemError" && text.left.reason === "NotFound") {
              yield* Effect.logWarning("queued notification vanished").pipe(Effect.annotateLogs({ receiver: name, seq }))
              yield* dropHead(queue)
            } else {
              yield* Effect.logError("cannot read queued notification").pipe(
                Effect.annotateLogs({ receiver: name, seq, error: text.left.message })
              )
              yield* Effect.sleep(permanentBackoff)
            }
            continue
          }
          const decoded = decodeItem(text.right)
          if (Either.isLeft(decoded)) {
            yield* Effect.logError("corrupt notification moved aside").pipe(
              Effect.annotateLogs({ receiver: name, seq, folder: "corrupt", error: decoded.left.message.slice(0, 300) })
            )
            yield* moveAside(queue, seq, "corrupt")
            yield* dropHead(queue)
            yield* report(name, "corrupt")
            continue
          }
          const file = decoded.right
          const item: OutboxItem = { seq, enqueuedAt: file.enqueued_at, event: file.event }
          const annotations = { receiver: name, seq, event_id: eventId(item.event), alertname: item.event.alert.name }
          const sent = yield* Effect.either(queue.receiver.deliver(item))
          const now = yield* Clock.currentTimeMillis
          if (Either.isRight(sent)) {
            yield* fs.remove(path).pipe(
              Effect.catchAll((error) =>
                Effect.logError("delivered notification could not be deleted; it will be sent again after a restart")
                  .pipe(Effect.annotateLogs({ ...annotations, error: error.message }))
              )
            )
            yield* dropHead(queue)
            yield* report(name, "success")
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
              Effect.annotateLogs({ ...annotations, error: error.message, folder: "dead" })
            )
            yield* moveAside(queue, seq, "dead")
            yield* dropHead(queue)
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
      }).pipe(Effect.annotateLogs({ service: "Outbox" }))

    // a bug in one loop (a throwing onOutcome hook, say) must not silently stop that receiver's deliveries
    const supervised = (queue: ReceiverQueue) =>
      deliveryLoop(queue).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logError("outbox delivery loop failed, restarting").pipe(
            Effect.annotateLogs({ receiver: queue.receiver.name }),
            Effect.zipRight(Effect.logDebug(cause)),
            Effect.zipRight(Effect.sleep(retryCap))
          )
        ),
        Effect.forever
      )
    // explicitly interruptible: a caller may build the outbox inside an uninterruptible acquire (ScopedRef), and a
    // fiber forked there would inherit that and hold up shutdown forever
    for (const queue of queues.values()) yield* Effect.forkScoped(Effect.interruptible(supervised(queue)))

    const enqueue = (receiver: string, event: AlertEvent): Effect.Effect<void, OutboxError> => {
      const queue = queues.get(receiver)
      if (queue === undefined) return Effect.fail(new OutboxError({ receiver, detail: "no such receiver" }))
      // the lock keeps file order equal to call order and the in-memory queue sorted
      return queue.lock.withPermits(1)(
        Effect.gen(function*() {
          const enqueuedAt = yield* Clock.currentTimeMillis
          const seq = yield* Ref.getAndUpdate(queue.nextSeq, (n) => n + 1)
          const content = JSON.stringify(ItemFile.make({ version: 1, seq, enqueued_at: enqueuedAt, event }))
          yield* writeFileAtomic(join(queue.dir, itemFileName(seq)), content)
          yield* Ref.update(queue.pending, (seqs) => [...seqs, seq])
          yield* Queue.offer(queue.doorbell, undefined)
        })
      ).pipe(
        Effect.provideService(FileSystem.FileSystem, fs),
        Effect.mapError((error) => new OutboxError({ receiver, detail: `cannot write queue item: ${error.message}` }))
      )
    }

    const queueLength = (receiver: string): Effect.Effect<number> => {
      const queue = queues.get(receiver)
      return queue === undefined ? Effect.succeed(0) : Effect.map(Ref.get(queue.pending), (seqs) => seqs.length)
    }

    const queueLengths = Effect.map(
      Effect.forEach([...queues.keys()], (name) => Effect.map(queueLength(name), (n) => [name, n] as const)),
      (entries): ReadonlyMap<string, number> => new Map(entries)
    )

    return { enqueue, queueLength, queueLengths }
  })
