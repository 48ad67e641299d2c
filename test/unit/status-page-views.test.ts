import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, TestClock } from "effect"
import { AlertsView } from "../../src/Runtime/AlertsView.js"
import { advanceTimeline } from "../../src/Runtime/AppTimeline.js"
import { ConfigStore } from "../../src/Runtime/ConfigStore.js"
import { LatestSnapshot } from "../../src/Runtime/LatestSnapshot.js"
import type { DaemonConfig } from "../../src/Core/Domain/App.js"
import type { AppReport, Snapshot } from "../../src/Core/Domain/Report.js"
import { conditionsOf } from "../../src/Core/Alerting/Rules.js"
import { escapeHtml } from "../../src/Http/Html.js"
import { type AppFilter, noFilter, prepareFleet, renderStatusPage, type StatusPageInput } from "../../src/Http/StatusPage.js"
import { statusPageRoute } from "../../src/Http/StatusPageRoute.js"
import { appIdOf, fleetApp } from "../support/fleet.js"

const T0 = Date.parse("2026-11-28T15:00:00.000Z")
const at = (minutes: number) => new Date(T0 + minutes * 60_000)

/** 1,000 apps: every 50th (from 3) unknown, every 40th (from 7) with a CVM stopped, the rest in sync; label team-(i mod 7). */
const variantOf = (i: number) => (i % 50 === 3 ? "unknown" : i % 40 === 7 ? "stopped" : "in_sync")
const N = 1000
const fleet: Snapshot = { generatedAt: at(0), apps: Array.from({ length: N }, (_, i) => fleetApp(i, variantOf(i))) }
const nameOf = (i: number) => `app-${String(i).padStart(5, "0")}`

/** The apps `keep` selects, in the page's order (out of sync, then unknown, then in sync; by name within each). */
const expected = (keep: (i: number) => boolean): Array<string> => {
  const rank = { stopped: 0, unknown: 1, in_sync: 2 }
  return Array.from({ length: N }, (_, i) => i).filter(keep)
    .sort((a, b) => rank[variantOf(a)] - rank[variantOf(b)] || a - b)
    .map(nameOf)
}

const render = (filter: Partial<AppFilter>, page = 1, overrides: Partial<StatusPageInput> = {}) =>
  renderStatusPage({
    snapshot: fleet,
    alerts: [],
    alertingEnabled: false,
    now: at(1),
    refreshSeconds: 10,
    version: "0.1.0",
    page,
    filter: { ...noFilter, ...filter },
    ...overrides
  })

const rowNames = (page: string): Array<string> => [...page.matchAll(/class="app-name">([^<]*)</g)].map((m) => m[1] ?? "")
const navOf = (page: string) => page.split("<nav class=\"pages\" aria-label=\"Pages of apps\">")[1]?.split("</nav>")[0] ?? ""
const textOf = (markup: string): string =>
  markup.replace(/<style>[^]*?<\/style>|<script>[^]*?<\/script>/g, "").replace(/<[^>]*>/g, " ").replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&#39;/g, "'").replace(/&amp;/g, "&").replace(/\s+/g, " ")

describe("status page filters (server side, GET query)", () => {
  it("filters by sync state, each state and 'needs attention'", () => {
    const unknown = render({ sync: "unknown" })
    expect(rowNames(unknown)).toEqual(expected((i) => variantOf(i) === "unknown"))
    expect(rowNames(unknown)).toHaveLength(20)
    expect(textOf(unknown)).toContain("20 apps of 1000 shown: unknown. Show all apps")
    expect(unknown).not.toContain("<nav class=\"pages\"")
    expect(rowNames(render({ sync: "out_of_sync" }))).toEqual(expected((i) => variantOf(i) === "stopped"))
    expect(rowNames(render({ sync: "problems" }))).toEqual(expected((i) => variantOf(i) !== "in_sync"))
    // the heading and counts stay the fleet's
    expect(unknown).toContain("<h1>25 of 1000 apps out of sync</h1>")
  })

  it("pages through a filtered list with links that keep the filter", () => {
    const inSync = expected((i) => variantOf(i) === "in_sync")
    expect(inSync).toHaveLength(955)
    const page3 = render({ sync: "in_sync" }, 3)
    expect(rowNames(page3)).toEqual(inSync.slice(200, 300))
    expect(textOf(page3)).toContain("Apps 201–300 of 955. Every app is in sync.")
    const nav = navOf(page3)
    expect(nav).toContain("<li aria-current=\"page\">Page 3 of 10</li>")
    expect(nav).toContain("<a href=\"?sync=in_sync&amp;page=4\" rel=\"next\">")
    expect(nav).toContain("<a href=\"?sync=in_sync&amp;page=2\" rel=\"prev\">")
    expect(nav).toContain("<a href=\"?sync=in_sync&amp;page=10\">Last »</a>")
    // past the end: the last page of the filtered list
    const last = render({ sync: "in_sync" }, 99)
    expect(rowNames(last)).toEqual(inSync.slice(900))
    expect(navOf(last)).toContain("Page 10 of 10")
  })

  it("searches names and ids, any case, with an app_ prefix, combined with sync, label and pages", () => {
    expect(rowNames(render({ q: "APP-0099" }))).toEqual(expected((i) => i >= 990))
    expect(rowNames(render({ q: appIdOf(999).slice(-7) }))).toEqual([nameOf(999)])
    expect(rowNames(render({ q: `app_${appIdOf(512).toUpperCase()}` }))).toEqual([nameOf(512)])

    const combined = (i: number) => nameOf(i).includes("app-00") && variantOf(i) === "in_sync" && i % 7 === 2
    const want = expected(combined)
    expect(want.length).toBeGreaterThan(100)
    const filter = { q: "app-00", sync: "in_sync", label: "team=team-2" } as const
    expect(rowNames(render(filter, 1))).toEqual(want.slice(0, 100))
    const page2 = render(filter, 2)
    expect(rowNames(page2)).toEqual(want.slice(100, 200))
    expect(navOf(page2)).toContain("<a href=\"?q=app-00&amp;sync=in_sync&amp;label=team%3Dteam-2&amp;page=1\">« First</a>")
    expect(textOf(page2)).toContain(`${want.length} apps of 1000 shown: name or id contains “app-00”, in sync, label team=team-2.`)
  })

  it("filters by label value or by label key, and says when nothing matches", () => {
    expect(rowNames(render({ label: "team=team-6", sync: "problems" }))).toEqual(expected((i) => i % 7 === 6 && variantOf(i) !== "in_sync"))
    expect(rowNames(render({ label: "team" }, 1))).toEqual(expected(() => true).slice(0, 100))
    const none = render({ label: "team=nobody" })
    expect(rowNames(none)).toEqual([])
    expect(textOf(none)).toContain("0 apps of 1000 shown: label team=nobody.")
    expect(textOf(none)).toContain("No app matches. Show all apps")
    expect(none).toContain("<a href=\"?\">Show all apps</a>")
  })

  it("lands on one app by its exact id, with its anchor", () => {
    const page = render({ app: appIdOf(7) })
    expect(rowNames(page)).toEqual([nameOf(7)])
    expect(page).toContain(`<tr class="row-bad" id="app-${appIdOf(7)}">`)
    expect(page).toContain(`<a href="?app=${appIdOf(7)}#app-${appIdOf(7)}">permalink</a>`)
    expect(page).toContain(`<a href="https://cloud.phala.com/dashboard/cvms/app_${appIdOf(7)}" rel="noreferrer">Phala Cloud</a>`)
  })

  it("gives every row an anchor and the form the values asked for", () => {
    const page = render({}, 4)
    const ids = [...page.matchAll(/<tr class="row-\w+" id="app-([0-9a-f]{40})">/g)].map((m) => m[1])
    expect(ids).toHaveLength(100)
    expect(new Set(ids).size).toBe(100)
    const form = render({ q: "app-01", sync: "problems", label: "team=team-4" }).split("<form")[1]?.split("</form>")[0] ?? ""
    expect(form).toContain("method=\"get\"")
    expect(form).not.toContain("action=")
    expect(form).toContain("name=\"q\" value=\"app-01\"")
    expect(form).toContain("<option value=\"problems\" selected>needs attention</option>")
    expect(form).toContain("<option value=\"team=team-4\" selected>team=team-4</option>")
    expect(form.match(/<option value="team=/g)).toHaveLength(7)
    expect(form).toContain("<a href=\"?\">Clear</a>")
    expect(render({}).split("<form")[1]?.split("</form>")[0]).not.toContain("Clear")
  })

  it("asks for the label as text when the fleet has too many to list", () => {
    const many: Snapshot = {
      generatedAt: at(0),
      apps: Array.from({ length: 250 }, (_, i) => ({ ...fleetApp(i), desired: { ...fleetApp(i).desired, labels: { owner: `o${i}` } } }))
    }
    const page = render({ label: "owner=o17" }, 1, { snapshot: many })
    expect(page).toContain("<input id=\"f-label\" name=\"label\" value=\"owner=o17\"")
    expect(rowNames(page)).toEqual([nameOf(17)])
  })

  it("renders a filtered page once per snapshot, whatever the number of requests", () => {
    const view = prepareFleet(fleet)
    const filter = { ...noFilter, sync: "in_sync" as const }
    const listing = view.listing(filter)
    for (let k = 0; k < 5; k++) render({ sync: "in_sync" }, 2, { fleet: view })
    expect(view.listing({ ...filter })).toBe(listing)
    expect(listing.rendered()).toBe(1)
    expect(view.listing(noFilter).rows(1)).toBe(view.rows(1))
  })

  it("escapes hostile text in the search box, the filter note, label options, anchors and links", () => {
    const script = "<script>alert(1)</script>"
    const quote = "\"><img src=x onerror=alert(1)>"
    const hostileId = `${quote}'`
    const hostile = (variant: "in_sync" | "stopped"): AppReport => {
      const base = fleetApp(1, variant)
      return { ...base, appId: hostileId, name: script, desired: { ...base.desired, appId: hostileId, labels: { [quote]: script } } }
    }
    const snapshot: Snapshot = { generatedAt: at(0), apps: [hostile("stopped"), fleetApp(2)] }
    const moments = [
      { generatedAt: at(-5), apps: [hostile("in_sync"), fleetApp(2)] },
      { generatedAt: at(-2), apps: [hostile("stopped"), fleetApp(2)] },
      snapshot
    ].reduce<ReturnType<typeof advanceTimeline> | null>((t, s) => advanceTimeline(t, s), null)?.moments ?? null
    const page = render({ q: script, label: `${quote}=${script}`, app: hostileId }, 1, { snapshot, moments }).replace(/<script>\(\(\) =>[^]*?<\/script>/, "")
    expect(page).not.toContain("<script")
    expect(page).not.toContain("<img")
    for (const [, attr] of page.matchAll(/\s[a-z-]+="([^"]*)"/g)) expect(attr).not.toMatch(/[<>']/)
    expect(page).toContain(`name="q" value="&lt;script&gt;alert(1)&lt;/script&gt;"`)
    expect(page).toContain("id=\"app-&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;\"")
    expect(page).toContain(`href="https://cloud.phala.com/dashboard/cvms/app_${escapeHtml(encodeURIComponent(hostileId))}"`)
    expect(page).toContain(`<option value="${"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;=&lt;script&gt;alert(1)&lt;/script&gt;"}" selected>`)
    expect(rowNames(page)).toEqual(["&lt;script&gt;alert(1)&lt;/script&gt;"])
    const text = textOf(page)
    expect(text).toContain(`1 app of 2 shown: app ${hostileId}, name or id contains “${script}”, label ${quote}=${script}.`)
    expect(text).toContain("out of sync since 14:58:00 UTC (2 min)")
  })
})

describe("out of sync since / last observed on the page", () => {
  const a = 11
  const b = 12
  const c = 13
  const snap = (minutes: number, variants: Record<number, "in_sync" | "stopped" | "unknown">): Snapshot => ({
    generatedAt: at(minutes),
    apps: Object.entries(variants).map(([i, v]) => fleetApp(Number(i), v))
  })

  it("says since when an app is out of sync, when each was observed, and what is only known from before", () => {
    // a: in sync, then out of sync at 3 min, then unobservable; b: out of sync from the first cycle; c: never readable
    const snapshots = [
      snap(0, { [a]: "in_sync", [b]: "stopped", [c]: "unknown" }),
      snap(3, { [a]: "stopped", [b]: "stopped", [c]: "unknown" }),
      snap(8, { [a]: "unknown", [b]: "stopped", [c]: "unknown" })
    ]
    const timeline = snapshots.reduce<ReturnType<typeof advanceTimeline> | null>((t, s) => advanceTimeline(t, s), null)
    const last = snapshots[2] as Snapshot
    const page = render({}, 1, { snapshot: last, moments: timeline?.moments ?? null, now: at(8.5) })
    const row = (i: number) => textOf(page.split(`id="app-${appIdOf(i)}">`)[1]?.split("</tr>")[0] ?? "")
    expect(row(a)).toContain("last known out of sync since 15:03:00 UTC (5 min)")
    expect(row(a)).toContain("last observed 15:03:00 UTC (5 min before this update)")
    expect(row(b)).toContain("out of sync since 15:00:00 UTC or earlier (8 min)")
    expect(row(b)).toContain("observed 15:08:00 UTC")
    expect(row(c)).toContain("not observed since phala-drift started")
    expect(row(c)).not.toContain("out of sync since")
    expect(page).toContain("<time datetime=\"2026-11-28T15:03:00.000Z\" title=\"2026-11-28 15:03:00 UTC\">15:03:00 UTC</time>")
  })

  it("writes the date when the moment is not on the snapshot's day", () => {
    const yesterday = advanceTimeline(null, snap(-24 * 60, { [a]: "in_sync" }))
    const out = advanceTimeline(advanceTimeline(yesterday, snap(-23 * 60, { [a]: "stopped" })), snap(0, { [a]: "stopped" }))
    const page = render({}, 1, { snapshot: out.snapshot, moments: out.moments })
    expect(textOf(page)).toContain("out of sync since 2026-11-27 16:00 UTC (23 h)")
  })
})

const config = (): DaemonConfig => ({
  source: "test.yaml",
  api: { url: "http://127.0.0.1:1/api/v1", apiKey: Redacted.make("k"), apiVersion: "2025-10-28", timeout: Duration.seconds(5), retries: 0, concurrency: 1 },
  poll: { _tag: "Interval", interval: Duration.seconds(20) },
  server: { host: "127.0.0.1", port: 9477, lifecycle: false, auth: null, tls: null, phalaWebhook: null },
  stateDir: ".",
  apps: [],
  alerting: null
})

const routeLayer = Layer.mergeAll(LatestSnapshot.Default, AlertsView.Disabled, ConfigStore.fixed(config()))

const get = (search: string) =>
  statusPageRoute.pipe(
    Effect.provideService(HttpServerRequest.ParsedSearchParams, HttpServerRequest.searchParamsFromURL(new URL(`http://drift.test/${search}`))),
    Effect.flatMap((response) =>
      Effect.promise(async () => {
        const web = HttpServerResponse.toWeb(response)
        return { status: web.status, type: web.headers.get("content-type"), body: await web.text() }
      })
    )
  )

describe("GET / with a query", () => {
  it.effect("filters and pages from the query string the form submits, and rejects a malformed one", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(1).getTime())
      yield* (yield* LatestSnapshot).publish(fleet)
      const unknown = yield* get("?q=&sync=unknown&label=")
      expect(unknown.status).toBe(200)
      expect(rowNames(unknown.body)).toEqual(expected((i) => variantOf(i) === "unknown"))
      const paged = yield* get("?sync=in_sync&label=team%3Dteam-1&page=2")
      expect(rowNames(paged.body)).toEqual(expected((i) => variantOf(i) === "in_sync" && i % 7 === 1).slice(100, 200))
      // an empty form is the whole fleet, page 1 with page links
      const all = yield* get("?q=+&sync=&label=")
      expect(rowNames(all.body)).toEqual(expected(() => true).slice(0, 100))
      expect(all.body).toContain("<a href=\"?page=2\" rel=\"next\">")
      expect(all.body).not.toContain("shown:")
      // the dashboard's form of an id finds the app
      expect(rowNames((yield* get(`?app=app_${appIdOf(42).toUpperCase()}`)).body)).toEqual([nameOf(42)])
      for (const bad of ["?sync=broken", "?page=abc", "?page=0", `?q=${"x".repeat(201)}`, "?sync=unknown&sync=in_sync"]) {
        const response = yield* get(bad)
        expect(response.status, bad).toBe(400)
        expect(response.type).toBe("text/plain; charset=utf-8")
        expect(response.body).toMatch(/^bad query: /)
      }
    }).pipe(Effect.provide(routeLayer)))

  it.effect("shows when an app turned out of sync across published snapshots", () =>
    Effect.gen(function*() {
      const latest = yield* LatestSnapshot
      yield* latest.publish({ generatedAt: at(0), apps: [fleetApp(5), fleetApp(6)] })
      yield* latest.publish({ generatedAt: at(2), apps: [fleetApp(5, "stopped"), fleetApp(6)] })
      yield* TestClock.setTime(at(4).getTime())
      const third = { generatedAt: at(4), apps: [fleetApp(5, "stopped"), fleetApp(6)] }
      yield* latest.publish(third)
      // one app re-read between cycles: the other one was not observed again
      const reread = fleetApp(6)
      yield* latest.publish({ generatedAt: at(5), apps: [third.apps[0] as AppReport, reread] })
      const page = (yield* get(`?app=${appIdOf(5)}`)).body
      expect(textOf(page)).toContain("out of sync since 15:02:00 UTC (3 min)")
      expect(textOf(page)).toContain("observed 15:04:00 UTC")
      expect(textOf((yield* get(`?app=${appIdOf(6)}`)).body)).toContain("observed 15:05:00 UTC")
    }).pipe(Effect.provide(routeLayer)))

  it.effect("the link an alert carries (plan_url, generatorURL) opens the page on that app's row", () =>
    Effect.gen(function*() {
      yield* (yield* LatestSnapshot).publish(fleet)
      const report = fleet.apps[47] as AppReport
      const conditions = conditionsOf(report, "http://drift.example:9477/")
      expect(conditions.length).toBeGreaterThan(0)
      for (const condition of conditions) {
        const url = new URL(condition.annotations["plan_url"] ?? "")
        expect(`${url.origin}${url.pathname}`).toBe("http://drift.example:9477/")
        expect(url.hash).toBe(`#app-${report.appId}`)
        const page = (yield* get(url.search)).body
        expect(rowNames(page)).toEqual([report.name])
        expect(page).toContain(`id="${url.hash.slice(1)}"`)
      }
    }).pipe(Effect.provide(routeLayer)))
})
