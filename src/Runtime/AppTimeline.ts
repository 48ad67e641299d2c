import { Effect, HashMap, Option } from "effect"
import type { AppReport, Snapshot } from "../Core/Domain/Report.js"
import { loopTurn } from "../Support/TurnTaking.js"

/** What the daemon remembers about one app across snapshots (epoch ms; lives as long as the process). */
export interface AppMoments {
  /** The last snapshot in which the app was observed (its fetch succeeded); null: not since the daemon started. */
  readonly lastObservedAt: number | null
  /**
   * When the app last turned out of sync; null while it is in sync. Kept while the app is unknown: an app that
   * cannot be read has not been seen to recover.
   */
  readonly outOfSyncSince: number | null
  /** False when the app was out of sync the first time the daemon observed it: it turned out of sync earlier. */
  readonly outOfSyncSinceExact: boolean
  /** When a Phala Cloud webhook's re-read last published this app's report; null: not since the daemon started. */
  readonly lastEventRefreshAt: number | null
}

/** The moments of apps by id; what the status page reads. */
export interface MomentsLookup {
  readonly get: (appId: string) => AppMoments | undefined
}

/**
 * Moments in a persistent map: one app's re-read replaces one entry and shares the rest with the previous timeline
 * (a copy of the fleet per webhook event is what made one event cost the fleet's work).
 */
export class Moments implements MomentsLookup {
  static readonly empty = new Moments(HashMap.empty())
  constructor(private readonly map: HashMap.HashMap<string, AppMoments>) {}
  get(appId: string): AppMoments | undefined {
    return Option.getOrUndefined(HashMap.get(this.map, appId))
  }
  set(appId: string, moments: AppMoments): Moments {
    return new Moments(HashMap.set(this.map, appId, moments))
  }
  keys(): IterableIterator<string> {
    return HashMap.keys(this.map)
  }
  get size(): number {
    return HashMap.size(this.map)
  }
}

/** The moments of every app of `snapshot`, advanced by each published snapshot. */
export interface AppTimeline {
  readonly snapshot: Snapshot
  readonly moments: Moments
}

const advanceApp = (report: AppReport, at: number, previous: AppMoments | undefined, byEvent: boolean): AppMoments => ({
  ...advanceSync(report, at, previous),
  lastEventRefreshAt: byEvent ? at : previous?.lastEventRefreshAt ?? null
})

const advanceSync = (report: AppReport, at: number, previous: AppMoments | undefined): Omit<AppMoments, "lastEventRefreshAt"> => {
  const observed = report.sync !== "unknown"
  const lastObservedAt = observed ? at : previous?.lastObservedAt ?? null
  switch (report.sync) {
    case "in_sync":
      return { lastObservedAt, outOfSyncSince: null, outOfSyncSinceExact: true }
    case "unknown":
      return { lastObservedAt, outOfSyncSince: previous?.outOfSyncSince ?? null, outOfSyncSinceExact: previous?.outOfSyncSinceExact ?? false }
    case "out_of_sync":
      if (previous !== undefined && previous.outOfSyncSince !== null) return { ...previous, lastObservedAt }
      // exact only when this daemon saw the app in sync before (observed, and not out of sync then)
      return { lastObservedAt, outOfSyncSince: at, outOfSyncSinceExact: previous !== undefined && previous.lastObservedAt !== null }
  }
}

/**
 * The timeline after `snapshot` is published. A report carried over unchanged from the previous snapshot (the
 * same object: one app re-read between cycles leaves the others as they were) was not observed again, so its
 * moments stay; apps no longer in the snapshot are forgotten. `refreshedByEvent` names the app whose re-read (a
 * Phala Cloud webhook) made this snapshot.
 */
export const advanceTimeline = (previous: AppTimeline | null, snapshot: Snapshot, refreshedByEvent: string | null = null): AppTimeline => {
  const advance = advancing(previous, snapshot, refreshedByEvent)
  advance.apps(0, snapshot.apps.length)
  return advance.done()
}

/** Apps advanced per step of `advanceTimelineSliced`: about a millisecond of work. */
const appsPerStep = 500

/**
 * `advanceTimeline` in steps with a turn of the event loop between them, so a fleet's worth of apps does not hold
 * the loop in one piece. The caller publishes one snapshot at a time (the Publisher's lock), so nothing changes the
 * timeline between its steps.
 */
export const advanceTimelineSliced = (
  previous: AppTimeline | null,
  snapshot: Snapshot,
  refreshedByEvent: string | null = null
): Effect.Effect<AppTimeline> =>
  Effect.suspend(() => {
    const advance = advancing(previous, snapshot, refreshedByEvent)
    const total = snapshot.apps.length
    const from = (start: number): Effect.Effect<AppTimeline> => {
      const end = Math.min(total, start + appsPerStep)
      advance.apps(start, end)
      return end >= total ? Effect.sync(advance.done) : Effect.zipRight(loopTurn, Effect.suspend(() => from(end)))
    }
    return from(0)
  })

const advancing = (previous: AppTimeline | null, snapshot: Snapshot, refreshedByEvent: string | null) => {
  const at = snapshot.generatedAt.getTime()
  const before = new Map(previous?.snapshot.apps.map((app) => [app.appId, app]) ?? [])
  const moments = HashMap.beginMutation(HashMap.empty<string, AppMoments>())
  return {
    apps: (start: number, end: number): void => {
      for (let i = start; i < end; i++) {
        const report = snapshot.apps[i]
        if (report === undefined) continue
        const kept = previous?.moments.get(report.appId)
        HashMap.set(
          moments,
          report.appId,
          before.get(report.appId) === report && kept !== undefined ? kept : advanceApp(report, at, kept, report.appId === refreshedByEvent)
        )
      }
    },
    done: (): AppTimeline => ({ snapshot, moments: new Moments(HashMap.endMutation(moments)) })
  }
}

/**
 * The timeline after one app's new report is published between cycles (`snapshot` already holds it): that app's
 * moments advance, the others are shared with `previous`. O(one app).
 */
export const advanceTimelineApp = (previous: AppTimeline, snapshot: Snapshot, report: AppReport, refreshedByEvent: boolean): AppTimeline => {
  const at = snapshot.generatedAt.getTime()
  return { snapshot, moments: previous.moments.set(report.appId, advanceApp(report, at, previous.moments.get(report.appId), refreshedByEvent)) }
}
