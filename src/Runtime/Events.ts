import { Data, Effect, Ref, type Scope } from "effect"

/** The `endpoint` of `phala_drift_api_requests_total`. */
export type ApiEndpoint = "app" | "list" | "action"

/** A notification attempt's result as `phala_drift_notifications_total` counts it. */
export type NotificationResult = "success" | "failure" | "dropped"

/** The `result` of `phala_drift_webhook_events_total`. */
export type WebhookResult = "accepted" | "duplicate" | "bad_signature" | "stale" | "ignored" | "invalid" | "too_large"

/**
 * Facts the daemon's parts report as they happen, for whoever watches (Metrics today). Producers know nothing of
 * their consumers: the config store says a reload failed, the client that it made an attempt.
 */
export type DaemonEvent = Data.TaggedEnum<{
  /**
   * One HTTP attempt against the Phala API: `code` is the status code, or `timeout` / `network`; `endpoint` what was
   * asked (`app`: one app's read, `list`: a page of the workspace listing, `action`: a CVM lifecycle action).
   */
  ApiAttempt: { readonly code: string; readonly seconds: number; readonly endpoint: ApiEndpoint }
  /** The config was loaded or reloaded (`success`), or a reload was rejected; `at` is epoch ms. */
  ConfigLoaded: { readonly success: boolean; readonly at: number }
  /** A scheduled tick found the previous cycle still running. */
  TickSkipped: Record<never, never>
  NotificationAttempt: { readonly receiver: string; readonly result: NotificationResult }
  /** One failed write to state_dir (outbox, alert state, the lock). */
  StateWriteFailed: Record<never, never>
  /** Alerts by name and state after an evaluation; every name in `names` is reported, 0 when none. */
  AlertsEvaluated: {
    readonly alerts: ReadonlyArray<{ readonly alertname: string; readonly state: string }>
    readonly names: ReadonlyArray<string>
  }
  /** One `POST {path}` from Phala Cloud: its event (closed set) and what became of it (`WebhookResult`). */
  WebhookReceived: { readonly event: string; readonly result: WebhookResult }
  /** An app re-read for webhook events was published, `seconds` after the earliest event it answers arrived. */
  WebhookPublished: { readonly seconds: number }
  /** Notifications waiting per receiver. */
  QueueLengths: { readonly lengths: ReadonlyMap<string, number> }
  /** One self-healing decision or action recorded: `result` ok, failed, skipped or dry_run. */
  RemediationRecorded: { readonly action: string; readonly result: string }
}>
export const DaemonEvent = Data.taggedEnum<DaemonEvent>()

export type EventHandler = (event: DaemonEvent) => Effect.Effect<void>

/**
 * A synchronous hub: `publish` runs every subscriber in the publisher's fiber before it returns, so what a
 * subscriber shows (a metric) is up to date as soon as the producer goes on. A failing subscriber is logged and
 * never fails the producer. With no subscriber (`plan`), publishing costs nothing.
 */
export class Events extends Effect.Service<Events>()("phala-drift/Events", {
  effect: Effect.gen(function*() {
    const handlers = yield* Ref.make<ReadonlyArray<EventHandler>>([])
    const publish = (event: DaemonEvent): Effect.Effect<void> =>
      Effect.flatMap(Ref.get(handlers), (all) =>
        Effect.forEach(all, (handler) =>
          handler(event).pipe(
            Effect.catchAllCause((cause) => Effect.logError("event subscriber failed", cause).pipe(Effect.annotateLogs({ event: event._tag })))
          ), { discard: true }))
    /** Until the scope closes. */
    const subscribe = (handler: EventHandler): Effect.Effect<void, never, Scope.Scope> =>
      Effect.acquireRelease(
        Ref.update(handlers, (all) => [...all, handler]),
        () => Ref.update(handlers, (all) => all.filter((h) => h !== handler))
      )
    return { publish, subscribe } as const
  })
}) {}
