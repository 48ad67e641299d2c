/**
 * Phala Cloud's workspace webhooks, as the simulator sends them (reference §8): on every CVM status change it
 * POSTs a signed `cvm.*` event to each registered URL, retrying while the receiver is down.
 */
import { Clock, Effect, Queue, Schedule, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import { sign } from "../Core/PhalaWebhook.js"
import type { SimulatorState } from "./State.js"
import type { World } from "./World.js"

export interface WebhookTarget {
  readonly url: string
  readonly secret: string
}

export interface WebhookEventBody {
  readonly id: string
  readonly event: string
  readonly version: "1"
  readonly created_at: string
  readonly workspace: { readonly id: string; readonly name: string }
  readonly data: { readonly cvm_id: string; readonly cvm_name: string; readonly app_id: string; readonly status: string }
}

/** One delivery as `GET /_sim/webhooks` reports it (never the secret). */
export interface Delivery {
  readonly id: string
  readonly event: string
  readonly url: string
  readonly app_id: string
  attempts: number
  status: number | null
  outcome: "pending" | "delivered" | "failed"
}

/** Registered receivers and the recent deliveries; the admin API and the scenario's `webhooks` set them. */
export class WebhookTargets {
  private current: ReadonlyArray<WebhookTarget> = []
  private log: Array<Delivery> = []
  private listeners: Array<() => void> = []
  constructor(readonly capacity: number) {}
  get targets(): ReadonlyArray<WebhookTarget> {
    return this.current
  }
  set targets(targets: ReadonlyArray<WebhookTarget>) {
    this.current = targets
    for (const listener of this.listeners) listener()
  }
  /** Called whenever the targets are replaced. */
  onSet(listener: () => void): void {
    this.listeners.push(listener)
  }
  record(delivery: Delivery): Delivery {
    this.log.push(delivery)
    if (this.log.length > this.capacity) this.log.splice(0, this.log.length - this.capacity)
    return delivery
  }
  deliveries(): ReadonlyArray<Delivery> {
    return this.log.map((d) => ({ ...d }))
  }
  clear(): void {
    this.log = []
  }
}

interface Change {
  readonly event: string
  readonly appId: string
  readonly vmUuid: string
  readonly name: string
  readonly status: string
}

/** The event Phala Cloud sends when a CVM reaches `status` from `before` (null: it is new); null when none is sent. */
export const eventFor = (before: string | null, status: string): string | null => {
  const now = status.toLowerCase()
  if (before === null) return "cvm.created"
  const was = before.toLowerCase()
  if (was === now) return null
  if (now === "running") return was === "restarting" ? "cvm.restarted" : "cvm.started"
  if (now === "stopped") return "cvm.stopped"
  // no event for exited, starting, stopping and the like: polling sees those
  return null
}

/** CVM changes between two worlds; apps whose record is the same object are skipped, so an idle fleet costs little. */
export const changesBetween = (before: World, after: World): ReadonlyArray<Change> => {
  const changes: Array<Change> = []
  for (const [appId, app] of after.apps) {
    const earlier = before.apps.get(appId)
    if (earlier === app) continue
    const previous = new Map((earlier?.cvms ?? []).map((c) => [c.vmUuid, c]))
    for (const cvm of app.cvms) {
      const was = previous.get(cvm.vmUuid)
      previous.delete(cvm.vmUuid)
      const event = eventFor(was === undefined ? null : was.status, cvm.status)
      if (event !== null) changes.push({ event, appId, vmUuid: cvm.vmUuid, name: cvm.name, status: cvm.status })
    }
    for (const gone of previous.values()) changes.push({ event: "cvm.deleted", appId, vmUuid: gone.vmUuid, name: gone.name, status: "deleted" })
  }
  for (const [appId, app] of before.apps) {
    if (after.apps.has(appId)) continue
    for (const gone of app.cvms) changes.push({ event: "cvm.deleted", appId, vmUuid: gone.vmUuid, name: gone.name, status: "deleted" })
  }
  return changes
}

/** Waits between attempts while a receiver fails (network error, 429 or 5xx): 0.25 s doubling, 8 retries (~1 min). */
export const retrySchedule = Schedule.intersect(Schedule.exponential("250 millis"), Schedule.recurs(8))

const retryable = (status: number | null): boolean => status === null || status === 429 || status >= 500

class DeliveryFailed {
  readonly _tag = "DeliveryFailed"
  constructor(readonly status: number | null) {}
}

const post = (target: WebhookTarget, body: WebhookEventBody, delivery: Delivery) =>
  Effect.gen(function*() {
    const text = JSON.stringify(body)
    // signed at each attempt, so a late retry is not refused as stale
    const timestamp = String(Math.floor((yield* Clock.currentTimeMillis) / 1000))
    delivery.attempts += 1
    const status = yield* Effect.tryPromise({
      try: (signal) =>
        fetch(target.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "PhalaCloud-Webhook/1.0",
            "x-webhook-id": body.id,
            "x-webhook-event": body.event,
            "x-webhook-timestamp": timestamp,
            "x-webhook-signature": sign(target.secret, timestamp, text)
          },
          body: text,
          signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)])
        }).then(async (response) => {
          await response.arrayBuffer().catch(() => undefined)
          return response.status
        }),
      catch: () => new DeliveryFailed(null)
    })
    delivery.status = status
    if (retryable(status)) return yield* Effect.fail(new DeliveryFailed(status))
  })

/**
 * Watches the world for CVM status changes while any receiver is registered and delivers their events, each
 * delivery in a fiber of the scope (closing it stops the retries). Transitions scheduled for later are noticed
 * by advancing the world every 100 ms, as a request would.
 */
export const startWebhooks = (state: SimulatorState): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<{ readonly change: Change; readonly at: number }>()
    state.onChange((before, after, at) => {
      if (state.webhooks.targets.length === 0) return
      for (const change of changesBetween(before, after)) queue.unsafeOffer({ change, at })
    })
    const workspace = state.scenario.team == null
      ? { id: "ws_simulator", name: "Simulator" }
      : { id: `ws_${state.scenario.team.slug}`, name: state.scenario.team.name }
    const deliver = ({ at, change }: { readonly change: Change; readonly at: number }) =>
      Effect.forEach(state.webhooks.targets, (target) => {
        const body: WebhookEventBody = {
          id: `evt_${randomBytes(12).toString("hex")}`,
          event: change.event,
          version: "1",
          created_at: new Date(at).toISOString(),
          workspace,
          data: { cvm_id: change.vmUuid, cvm_name: change.name, app_id: `app_${change.appId}`, status: change.status }
        }
        const delivery = state.webhooks.record({
          id: body.id, event: body.event, url: target.url, app_id: change.appId, attempts: 0, status: null, outcome: "pending"
        })
        return post(target, body, delivery).pipe(
          Effect.retry(retrySchedule),
          Effect.match({
            onFailure: () => {
              delivery.outcome = "failed"
            },
            onSuccess: () => {
              delivery.outcome = "delivered"
            }
          })
        )
      }, { concurrency: "unbounded", discard: true })
    yield* Queue.take(queue).pipe(
      Effect.flatMap((item) => Effect.forkScoped(deliver(item))),
      Effect.forever,
      Effect.forkScoped
    )
    // with no receiver the ticker sleeps until one is registered, so an idle simulator (or a test's clock) does no work
    const registered = yield* Queue.sliding<void>(1)
    state.webhooks.onSet(() => {
      registered.unsafeOffer(undefined)
    })
    yield* Effect.suspend(() =>
      state.webhooks.targets.length === 0
        ? Queue.take(registered)
        : Effect.zipRight(Effect.sleep("100 millis"), Effect.asVoid(state.current))
    ).pipe(Effect.forever, Effect.forkScoped)
  })
