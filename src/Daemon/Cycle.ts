import { Clock, Duration, Effect, Option, Ref } from "effect"
import { observeAndDiff, readingOptions } from "../Cloud/Observe.js"
import { make as makePhalaClient, PhalaClient, type PhalaClientService } from "../Cloud/PhalaClient.js"
import { type ApiSettings, pollPeriod } from "../Core/Domain/App.js"
import { summarize } from "../Core/Domain/Report.js"
import { type UnknownTransition, unknownTransitions } from "../Core/Domain/UnknownTransitions.js"
import { ConfigStore } from "../Runtime/ConfigStore.js"
import { Events } from "../Runtime/Events.js"
import { LatestSnapshot } from "../Runtime/LatestSnapshot.js"
import { loopTurn } from "../Support/TurnTaking.js"
import { Freshness } from "./Freshness.js"
import { Remediation } from "./Remediation.js"

/** One line when an app turns unknown (WARN, with the reason) and one when it is observed again (INFO). */
const logTransition = (transition: UnknownTransition) =>
  transition._tag === "TurnedUnknown"
    ? Effect.logWarning(`app ${transition.app.name} is unknown: ${transition.error?.message ?? "not observed"}`).pipe(
      Effect.annotateLogs({
        app_id: transition.app.appId,
        app: transition.app.name,
        reason: transition.error?.reason ?? "unknown",
        ...(transition.error?.status == null ? {} : { status: transition.error.status })
      })
    )
    : Effect.logInfo(`app ${transition.app.name} is observed again: ${transition.app.sync}`).pipe(
      Effect.annotateLogs({ app_id: transition.app.appId, app: transition.app.name, sync: transition.app.sync })
    )

/**
 * One reconcile cycle of the daemon: observe and diff every app, publish (alerts, metrics, snapshot), self-heal,
 * log one line.
 */
export class Cycle extends Effect.Service<Cycle>()("phala-drift/Cycle", {
  effect: Effect.gen(function*() {
    const store = yield* ConfigStore
    const latest = yield* LatestSnapshot
    const freshness = yield* Freshness
    const events = yield* Events
    const remediation = yield* Remediation

    // the client holds the concurrency bound (its permits); rebuild it only when the API settings change (reload)
    const clientCache = yield* Ref.make<{ readonly settings: ApiSettings; readonly client: PhalaClientService } | null>(null)
    const clientFor = (settings: ApiSettings) =>
      Effect.gen(function*() {
        const cached = yield* Ref.get(clientCache)
        if (cached !== null && cached.settings === settings) return cached.client
        const client = yield* makePhalaClient(settings).pipe(Effect.provideService(Events, events))
        yield* Ref.set(clientCache, { settings, client })
        return client
      })

    const run = Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      const config = yield* store.current
      const client = yield* clientFor(config.api)
      const previous = Option.getOrUndefined(yield* latest.current)
      const observed = yield* observeAndDiff(config.apps, {
        // retries may use up to one poll period: waiting longer would collide with the next cycle
        deadline: startedAt + Duration.toMillis(pollPeriod(config)),
        concurrency: config.api.concurrency,
        ...readingOptions(config),
        ...(previous === undefined ? {} : { previous })
      }).pipe(
        Effect.provideService(PhalaClient, client)
      )
      const observedAt = yield* Clock.currentTimeMillis
      const snapshot = yield* freshness.publishCycle(observed, { startedAt, observedAt })
      // after the publish: metrics, alerts and the page show the drift before anything acts on it
      yield* remediation.afterPublish(snapshot)
      yield* loopTurn
      yield* Effect.forEach(unknownTransitions(previous, snapshot), logTransition, { discard: true })
      const s = summarize(snapshot.apps)
      yield* Effect.logInfo("reconcile cycle finished").pipe(
        Effect.annotateLogs({
          apps: s.apps,
          in_sync: s.in_sync,
          out_of_sync: s.out_of_sync,
          unknown: s.unknown,
          drifts: s.drifts,
          duration_ms: (yield* Clock.currentTimeMillis) - startedAt
        })
      )
      return snapshot
    }).pipe(Effect.withSpan("Cycle.run"))

    /** The client of the current API settings, shared with the cycles (and their concurrency bound). */
    const client = Effect.flatMap(store.current, (config) => clientFor(config.api))

    return { run, client } as const
  }),
  dependencies: [Freshness.Default, LatestSnapshot.Default, Events.Default, Remediation.Default]
}) {}
