import { HttpClient } from "@effect/platform"
import { Clock, Duration, Effect, Option, Ref } from "effect"
import { Alerting } from "../Alerts/Alerting.js"
import { ApiObserver } from "../Runtime/ApiObserver.js"
import { make as makePhalaClient, PhalaClient, type PhalaClientService } from "../Cloud/PhalaClient.js"
import { type ApiSettings, pollPeriod } from "../Core/Domain/App.js"
import { summarize } from "../Core/Domain/Report.js"
import { Metrics } from "../Metrics/Metrics.js"
import { reconcile } from "../Cloud/Observe.js"
import { ConfigStore } from "./ConfigStore.js"
import { DaemonState } from "../Runtime/LatestSnapshot.js"

/** One reconcile cycle of the daemon: observe, diff, evaluate alerts, record metrics, publish, log one summary line. */
export class Cycle extends Effect.Service<Cycle>()("phala-drift/Cycle", {
  effect: Effect.gen(function*() {
    const store = yield* ConfigStore
    const metrics = yield* Metrics
    const state = yield* DaemonState
    const alerting = yield* Alerting
    const http = yield* HttpClient.HttpClient
    const observer = ApiObserver.of({ onAttempt: metrics.apiAttempt })

    // the client holds the concurrency semaphore; rebuild it only when the API settings change (reload)
    const clientCache = yield* Ref.make<{ readonly settings: ApiSettings; readonly client: PhalaClientService } | null>(null)
    const clientFor = (settings: ApiSettings) =>
      Effect.gen(function*() {
        const cached = yield* Ref.get(clientCache)
        if (cached !== null && cached.settings === settings) return cached.client
        const client = yield* makePhalaClient(settings).pipe(
          Effect.provideService(HttpClient.HttpClient, http),
          Effect.provideService(ApiObserver, observer)
        )
        yield* Ref.set(clientCache, { settings, client })
        return client
      })

    const run = Effect.gen(function*() {
      const config = yield* store.current
      const client = yield* clientFor(config.api)
      const started = yield* Clock.currentTimeMillis
      const previous = Option.getOrUndefined(yield* state.current)
      const snapshot = yield* reconcile(config.apps, {
        // retries may use up to one poll period: waiting longer would collide with the next cycle
        deadline: started + Duration.toMillis(pollPeriod(config)),
        concurrency: config.api.concurrency,
        ...(previous === undefined ? {} : { previous })
      }).pipe(
        Effect.provideService(PhalaClient, client)
      )
      const finished = yield* Clock.currentTimeMillis
      const durationSeconds = (finished - started) / 1000
      yield* alerting.onSnapshot(snapshot)
      yield* metrics.record(snapshot, { durationSeconds, finishedAt: new Date(finished) })
      yield* state.publish(snapshot)
      const s = summarize(snapshot.apps)
      yield* Effect.logInfo("reconcile cycle finished").pipe(
        Effect.annotateLogs({
          apps: s.apps,
          in_sync: s.in_sync,
          out_of_sync: s.out_of_sync,
          unknown: s.unknown,
          drifts: s.drifts,
          duration_ms: finished - started
        })
      )
      return snapshot
    }).pipe(Effect.withSpan("Cycle.run"))

    return { run } as const
  })
}) {}
