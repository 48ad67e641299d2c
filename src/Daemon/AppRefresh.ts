import { Clock, Duration, Effect, FiberSet, Option } from "effect"
import { observeOne } from "../Cloud/Observe.js"
import { PhalaClient } from "../Cloud/PhalaClient.js"
import type { AppId } from "../Core/Domain/AppId.js"
import { declaredApp, pollPeriod } from "../Core/Domain/App.js"
import { ConfigStore } from "../Runtime/ConfigStore.js"
import { DaemonEvent, Events } from "../Runtime/Events.js"
import { LatestSnapshot } from "../Runtime/LatestSnapshot.js"
import { Cycle } from "./Cycle.js"
import { Freshness } from "./Freshness.js"

/**
 * The first event for an app is read at once. Events that arrive during or after that read are answered by one more
 * read once they have been quiet for `quiet`, or `maxWait` after the previous read started if they keep coming: a
 * storm (a flapping CVM, a redelivery burst) costs two reads, and one more per `maxWait` it lasts.
 */
export const quiet = Duration.millis(500)
export const maxWait = Duration.seconds(5)

/** Per app with a read in flight: whether another read is due, and since when (the earliest event it answers). */
interface InFlight {
  due: boolean
  since: number | null
  lastEventAt: number
}

/**
 * Re-reads one app at once when asked (a webhook event), at most one read in flight per app: requests that arrive
 * during or after a read coalesce into one more read (that read may have fetched the state from before their
 * event), timed by `quiet` and `maxWait`. Each read costs one app's request and publish, never the fleet's.
 */
export class AppRefresh extends Effect.Service<AppRefresh>()("phala-drift/AppRefresh", {
  scoped: Effect.gen(function*() {
    const store = yield* ConfigStore
    const cycle = yield* Cycle
    const freshness = yield* Freshness
    const latest = yield* LatestSnapshot
    const events = yield* Events
    const fibers = yield* FiberSet.make()
    const inFlight = new Map<AppId, InFlight>()

    const readOnce = (appId: AppId, since: number) =>
      Effect.gen(function*() {
        const config = yield* store.current
        const app = declaredApp(config, appId)
        if (app === undefined) return
        const startedAt = yield* Clock.currentTimeMillis
        const previous = Option.getOrUndefined(yield* latest.report(appId))
        const client = yield* cycle.client
        const report = yield* observeOne(app, {
          deadline: startedAt + Duration.toMillis(pollPeriod(config)),
          ...(previous === undefined ? {} : { previousName: previous.name })
        }).pipe(Effect.provideService(PhalaClient, client))
        const outcome = yield* freshness.publishApp(report, startedAt)
        const publishedAt = yield* Clock.currentTimeMillis
        if (outcome === "published") yield* events.publish(DaemonEvent.WebhookPublished({ seconds: (publishedAt - since) / 1000 }))
        yield* Effect.logDebug("app re-read for a webhook event").pipe(
          Effect.annotateLogs({ app_id: appId, outcome, duration_ms: publishedAt - startedAt })
        )
      }).pipe(Effect.catchAllCause((cause) => Effect.logError("webhook re-read failed", cause).pipe(Effect.annotateLogs({ app_id: appId }))))

    const drain = (appId: AppId): Effect.Effect<void> =>
      Effect.gen(function*() {
        let lastStart: number | null = null
        for (;;) {
          const state = inFlight.get(appId)
          if (state === undefined || !state.due) {
            inFlight.delete(appId)
            return
          }
          while (lastStart !== null) {
            const until = Math.min(state.lastEventAt + Duration.toMillis(quiet), lastStart + Duration.toMillis(maxWait))
            const wait = until - (yield* Clock.currentTimeMillis)
            if (wait <= 0) break
            yield* Effect.sleep(Duration.millis(wait))
          }
          const since = state.since ?? (yield* Clock.currentTimeMillis)
          state.due = false
          state.since = null
          lastStart = yield* Clock.currentTimeMillis
          yield* readOnce(appId, since)
        }
      }).pipe(Effect.ensuring(Effect.sync(() => inFlight.delete(appId))))

    /** Asks for a re-read of `appId` for an event that arrived at `receivedAt` (epoch ms); returns at once. */
    const request = (appId: AppId, receivedAt: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        const state = inFlight.get(appId)
        if (state !== undefined) {
          state.due = true
          state.since = state.since === null ? receivedAt : Math.min(state.since, receivedAt)
          state.lastEventAt = Math.max(state.lastEventAt, receivedAt)
          return Effect.void
        }
        inFlight.set(appId, { due: true, since: receivedAt, lastEventAt: receivedAt })
        return Effect.asVoid(FiberSet.run(fibers, drain(appId)))
      })

    return { request } as const
  }),
  dependencies: [Cycle.Default, Freshness.Default, LatestSnapshot.Default, Events.Default]
}) {}
