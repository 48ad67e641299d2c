import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { advanceTimeline, advanceTimelineApp, advanceTimelineSliced, type AppTimeline } from "../../src/Runtime/AppTimeline.js"
import type { AppReport, Snapshot } from "../../src/Core/Domain/Report.js"
import { appIdOf, fleetApp } from "../support/fleet.js"

type Variant = "in_sync" | "stopped" | "unknown"

const ms = (minute: number) => Date.parse("2026-11-28T15:00:00.000Z") + minute * 60_000
const snap = (minute: number, apps: ReadonlyArray<AppReport>): Snapshot => ({ generatedAt: new Date(ms(minute)), apps })

/** Publishes app 1 through `steps` (minute, variant), one snapshot each, and returns its moments after every step. */
const walk = (steps: ReadonlyArray<readonly [number, Variant]>) => {
  let timeline: AppTimeline | null = null
  return steps.map(([minute, variant]) => {
    timeline = advanceTimeline(timeline, snap(minute, [fleetApp(1, variant)]))
    return timeline.moments.get(appIdOf(1))
  })
}

describe("advanceTimeline", () => {
  it("advances a fleet in steps (advanceTimelineSliced) to exactly the timeline of one pass", async () => {
    const variants: ReadonlyArray<Variant> = ["in_sync", "stopped", "unknown"]
    const fleet = (minute: number, size: number) =>
      snap(minute, Array.from({ length: size }, (_, i) => fleetApp(i + 1, variants[(i * 7 + minute) % 3] ?? "in_sync")))
    let whole: AppTimeline | null = null
    let sliced: AppTimeline | null = null
    for (const [minute, size] of [[0, 1700], [1, 1700], [2, 1200], [3, 2100]] as const) {
      const snapshot = fleet(minute, size)
      whole = advanceTimeline(whole, snapshot, "none")
      sliced = await Effect.runPromise(advanceTimelineSliced(sliced, snapshot, "none"))
      expect(sliced.moments.size).toBe(size)
      expect([...sliced.moments.keys()].sort()).toStrictEqual([...whole.moments.keys()].sort())
      for (const key of whole.moments.keys()) expect(sliced.moments.get(key)).toStrictEqual(whole.moments.get(key))
    }
  })

  it("records when an app turned out of sync, keeps it through unobservable spells and clears it on recovery", () => {
    const moments = walk([[0, "in_sync"], [1, "stopped"], [2, "stopped"], [3, "unknown"], [4, "stopped"], [5, "in_sync"], [6, "stopped"]])
    expect(moments).toEqual([
      { lastObservedAt: ms(0), outOfSyncSince: null, outOfSyncSinceExact: true, lastEventRefreshAt: null },
      { lastObservedAt: ms(1), outOfSyncSince: ms(1), outOfSyncSinceExact: true, lastEventRefreshAt: null },
      { lastObservedAt: ms(2), outOfSyncSince: ms(1), outOfSyncSinceExact: true, lastEventRefreshAt: null },
      // unobservable: not seen to recover, so still out of sync since minute 1; last observed stays at minute 2
      { lastObservedAt: ms(2), outOfSyncSince: ms(1), outOfSyncSinceExact: true, lastEventRefreshAt: null },
      { lastObservedAt: ms(4), outOfSyncSince: ms(1), outOfSyncSinceExact: true, lastEventRefreshAt: null },
      { lastObservedAt: ms(5), outOfSyncSince: null, outOfSyncSinceExact: true, lastEventRefreshAt: null },
      { lastObservedAt: ms(6), outOfSyncSince: ms(6), outOfSyncSinceExact: true, lastEventRefreshAt: null }
    ])
  })

  it("marks the start as 'or earlier' when the app was out of sync the first time it was observed", () => {
    expect(walk([[0, "stopped"], [1, "stopped"]]).at(-1)).toEqual({ lastObservedAt: ms(1), outOfSyncSince: ms(0), outOfSyncSinceExact: false, lastEventRefreshAt: null })
    expect(walk([[0, "unknown"], [1, "unknown"], [2, "stopped"]])).toEqual([
      { lastObservedAt: null, outOfSyncSince: null, outOfSyncSinceExact: false, lastEventRefreshAt: null },
      { lastObservedAt: null, outOfSyncSince: null, outOfSyncSinceExact: false, lastEventRefreshAt: null },
      { lastObservedAt: ms(2), outOfSyncSince: ms(2), outOfSyncSinceExact: false, lastEventRefreshAt: null }
    ])
  })

  it("keeps the moments of reports carried over unchanged (one app re-read between cycles) and forgets removed apps", () => {
    const first = advanceTimeline(null, snap(0, [fleetApp(1), fleetApp(2, "stopped")]))
    const kept = first.snapshot.apps[1] as AppReport
    const reread = advanceTimeline(first, snap(1, [fleetApp(1, "stopped"), kept]))
    expect(reread.moments.get(appIdOf(2))).toBe(first.moments.get(appIdOf(2)))
    expect(reread.moments.get(appIdOf(1))).toEqual({ lastObservedAt: ms(1), outOfSyncSince: ms(1), outOfSyncSinceExact: true, lastEventRefreshAt: null })
    // the same app observed again (a new report) is observed again
    const cycle = advanceTimeline(reread, snap(2, [fleetApp(1, "stopped"), fleetApp(2, "stopped")]))
    expect(cycle.moments.get(appIdOf(2))).toEqual({ lastObservedAt: ms(2), outOfSyncSince: ms(0), outOfSyncSinceExact: false, lastEventRefreshAt: null })
    const removed = advanceTimeline(cycle, snap(3, [fleetApp(1)]))
    expect([...removed.moments.keys()]).toEqual([appIdOf(1)])
    // an app that comes back is new again: its start is not known
    const back = advanceTimeline(removed, snap(4, [fleetApp(1), fleetApp(2, "stopped")]))
    expect(back.moments.get(appIdOf(2))?.outOfSyncSinceExact).toBe(false)
  })

  it("records when a webhook's re-read refreshed an app, and keeps it through later cycles", () => {
    const first = advanceTimeline(null, snap(0, [fleetApp(1), fleetApp(2)]))
    const kept = first.snapshot.apps[1] as AppReport
    const byEvent = advanceTimeline(first, snap(1, [fleetApp(1, "stopped"), kept]), appIdOf(1))
    expect(byEvent.moments.get(appIdOf(1))).toEqual({ lastObservedAt: ms(1), outOfSyncSince: ms(1), outOfSyncSinceExact: true, lastEventRefreshAt: ms(1) })
    expect(byEvent.moments.get(appIdOf(2))?.lastEventRefreshAt).toBeNull()
    const cycle = advanceTimeline(byEvent, snap(2, [fleetApp(1, "stopped"), fleetApp(2)]))
    expect(cycle.moments.get(appIdOf(1))).toEqual({ lastObservedAt: ms(2), outOfSyncSince: ms(1), outOfSyncSinceExact: true, lastEventRefreshAt: ms(1) })
  })

  it("one app's re-read advances that app's moments as a whole publish would, sharing every other app's", () => {
    const apps = Array.from({ length: 50 }, (_, i) => fleetApp(i + 1, i % 3 === 0 ? "stopped" : "in_sync"))
    const first = advanceTimeline(null, snap(0, apps))
    for (const [minute, i, variant] of [[1, 4, "stopped"], [2, 4, "in_sync"], [3, 7, "unknown"], [4, 1, "in_sync"]] as const) {
      const before = first.snapshot.apps
      const report = fleetApp(i, variant)
      const replaced = snap(minute, before.map((a) => (a.appId === report.appId ? report : a)))
      const whole = advanceTimeline(first, replaced, report.appId)
      const one = advanceTimelineApp(first, replaced, report, true)
      for (const app of before) {
        expect(one.moments.get(app.appId)).toEqual(whole.moments.get(app.appId))
        if (app.appId !== report.appId) expect(one.moments.get(app.appId)).toBe(first.moments.get(app.appId))
      }
      expect(one.moments.get(report.appId)?.lastEventRefreshAt).toBe(ms(minute))
      expect(one.moments.size).toBe(50)
    }
  })
})
