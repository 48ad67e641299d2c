import { Clock, Effect, Option } from "effect"
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

    const publishApp = (report: AppReport, startedAt: number): Effect.Effect<AppPublish> =>
      lock.withPermits(1)(Effect.gen(function*() {
        const earlier = reread.get(report.appId)
        if (startedAt < lastCycleStart || (earlier !== undefined && startedAt < earlier.startedAt)) return "superseded"
        const published = yield* publisher.publishApp(report)
        if (Option.isNone(published)) return "absent"
        reread.set(report.appId, { startedAt, publishedAt: yield* Clock.currentTimeMillis })
        return "published"
      }))

    /** When each app was last refreshed by a webhook's re-read (epoch ms), for the page and the API. */
    const lastEventRefresh: Effect.Effect<ReadonlyMap<AppId, number>> = Effect.sync(() =>
      new Map([...reread].map(([appId, r]) => [appId, r.publishedAt]))
    )

    return { publishCycle, publishApp, lastEventRefresh } as const
  }),
  dependencies: [Publisher.Default, LatestSnapshot.Default]
}) {}

