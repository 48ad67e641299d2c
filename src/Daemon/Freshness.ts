import { Clock, Deferred, Effect, Option } from "effect"
import type { AppId } from "../Core/Domain/AppId.js"
import type { AppReport, Snapshot } from "../Core/Domain/Report.js"
import { LatestSnapshot } from "../Runtime/LatestSnapshot.js"
import { type CycleTiming, Publisher } from "./Publisher.js"

/** What became of one app's re-read: published, or dropped because something newer (or nothing) is there. */
export type AppPublish = "published" | "superseded" | "absent"

/**
 * Keeps a cycle and an app's re-read (webhook) from publishing an older observation over a newer one: each is
 * dated by when its observation started. A re-read started before the last published cycle began is dropped; a
 * cycle keeps the re-read report of an app whose re-read started after the cycle did. Both decide and publish
 * under one lock, so nothing slips between the comparison and the publish.
 */
export class Freshness extends Effect.Service<Freshness>()("phala-drift/Freshness", {
  effect: Effect.gen(function*() {
    const publisher = yield* Publisher
    const latest = yield* LatestSnapshot
    const lock = yield* Effect.makeSemaphore(1)
    let lastCycleStart = Number.NEGATIVE_INFINITY
    /** Per app: when the published re-read's observation started, and when it was published (epoch ms). */
    const reread = new Map<AppId, { readonly startedAt: number; readonly publishedAt: number }>()

    const publishCycle = (snapshot: Snapshot, timing: CycleTiming): Effect.Effect<Snapshot> =>
      lock.withPermits(1)(Effect.gen(function*() {
        const newer = new Set<AppId>()
        for (const [appId, r] of reread) if (r.startedAt > timing.startedAt) newer.add(appId)
        const current = Option.getOrUndefined(yield* latest.current)
        const kept = newer.size === 0 || current === undefined
          ? snapshot
          : (() => {
            const byId = new Map(current.apps.filter((a) => newer.has(a.appId)).map((a) => [a.appId, a]))
            return { ...snapshot, apps: snapshot.apps.map((a) => byId.get(a.appId) ?? a) }
          })()
        const present = new Set(snapshot.apps.map((a) => a.appId))
        for (const appId of [...reread.keys()]) if (!present.has(appId)) reread.delete(appId)
        lastCycleStart = Math.max(lastCycleStart, timing.startedAt)
        yield* publisher.publish(kept, timing)
        return kept
      }))

    /** Re-reads waiting to be published; whoever gets the lock next publishes all of them in one go. */
    let waiting: Array<{ readonly report: AppReport; readonly startedAt: number; readonly done: Deferred.Deferred<AppPublish> }> = []

    const drain = lock.withPermits(1)(Effect.gen(function*() {
      const batch = waiting
      waiting = []
      if (batch.length === 0) return
      const outcomes = new Map<Deferred.Deferred<AppPublish>, AppPublish>()
      // the newest re-read of each app, if it is newer than what is published
      const chosen = new Map<AppId, (typeof batch)[number]>()
      for (const item of batch) {
        const earlier = reread.get(item.report.appId)
        const rival = chosen.get(item.report.appId)
        if (item.startedAt < lastCycleStart || (earlier !== undefined && item.startedAt < earlier.startedAt)) {
          outcomes.set(item.done, "superseded")
        } else if (rival !== undefined && rival.startedAt > item.startedAt) {
          outcomes.set(item.done, "superseded")
        } else {
          if (rival !== undefined) outcomes.set(rival.done, "superseded")
          chosen.set(item.report.appId, item)
        }
      }
      // cycles publish under this lock too, so what the latest snapshot holds cannot change before ours is published
      const present = new Set<AppId>()
      for (const appId of chosen.keys()) if (yield* latest.holds(appId)) present.add(appId)
      yield* publisher.publishApps([...chosen.values()].filter((item) => present.has(item.report.appId)).map((item) => item.report))
      const at = yield* Clock.currentTimeMillis
      for (const item of chosen.values()) {
        const made = present.has(item.report.appId)
        if (made) reread.set(item.report.appId, { startedAt: item.startedAt, publishedAt: at })
        outcomes.set(item.done, made ? "published" : "absent")
      }
      for (const [done, outcome] of outcomes) yield* Deferred.succeed(done, outcome)
    }))

    /**
     * Publishes one app's re-read unless something newer is published. Re-reads that finish while another publish
     * holds the lock are published together by the next one: a burst of events costs one publish per batch.
     */
    const publishApp = (report: AppReport, startedAt: number): Effect.Effect<AppPublish> =>
      Effect.gen(function*() {
        const done = yield* Deferred.make<AppPublish>()
        waiting.push({ report, startedAt, done })
        yield* Effect.uninterruptible(drain)
        return yield* Deferred.await(done)
      })

    /** When each app was last refreshed by a webhook's re-read (epoch ms), for the page and the API. */
    const lastEventRefresh: Effect.Effect<ReadonlyMap<AppId, number>> = Effect.sync(() =>
      new Map([...reread].map(([appId, r]) => [appId, r.publishedAt]))
    )

    return { publishCycle, publishApp, lastEventRefresh } as const
  }),
  dependencies: [Publisher.Default, LatestSnapshot.Default]
}) {}

