import { createHash } from "node:crypto"
import type { StateDirHealth } from "../Runtime/AlertsView.js"
import type { AppMoments, MomentsLookup } from "../Runtime/AppTimeline.js"
import type { ActionRecord } from "../Core/Domain/ActionRecord.js"
import type { Alert } from "../Core/Domain/Alert.js"
import { formatReplicaRange } from "../Core/Domain/ReplicaRange.js"
import type { AppReport, CvmReport, Drift, Health, Snapshot, Summary, Sync, UnmanagedApp } from "../Core/Domain/Report.js"
import { summarize } from "../Core/Domain/Report.js"
import { type Html, html, type HtmlChild, join, trusted } from "./Html.js"

export interface StatusPageInput {
  readonly snapshot: Snapshot | null
  readonly alerts: ReadonlyArray<Alert>
  readonly alertingEnabled: boolean
  readonly now: Date
  readonly refreshSeconds: number
  readonly version: string
  /** Age after which the data is shown as stale; default 3 × refreshSeconds, null never. */
  readonly staleAfterSeconds?: number | null
  /** Write failures in state_dir (alerting only). */
  readonly stateDir?: StateDirHealth | null
  /**
   * The page of apps asked for (`?page=`, 1-based). Absent when the route does not read `?page=`: the first page is
   * shown and, in a fleet larger than a page, the page says where the full list is instead of linking pages.
   */
  readonly page?: number
  /** The apps part prepared at publish time (`prepareFleet`); made (and kept with the snapshot) when absent. */
  readonly fleet?: FleetView | null
  /** When each app last turned out of sync and was last observed (the daemon's timeline of this snapshot). */
  readonly moments?: MomentsLookup | null
  /** Which apps to list (`?q=`, `?sync=`, `?label=`, `?app=`); all of them when absent. */
  readonly filter?: AppFilter
  /** Self-healing: whether it is on, and its recent records (newest first). */
  readonly remediation?: RemediationPanel | null
}

export interface RemediationPanel {
  readonly enabled: boolean
  readonly dryRun: boolean
  readonly recent: ReadonlyArray<ActionRecord>
}

// ---- text helpers

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`


const value = (v: string | number | null): string => (v === null ? "(none)" : String(v))

const isoOf = (ms: number): string | null => {
  const d = new Date(ms)
  return Number.isFinite(d.getTime()) ? d.toISOString() : null
}

const utcText = (iso: string): string => `${iso.slice(0, 19).replace("T", " ")} UTC`

/** A length of time in the largest unit that keeps it readable ("3 min"); never negative. */
export const formatSpan = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  return h < 48 ? `${h} h` : `${Math.floor(h / 24)} d`
}

export const formatAge = (ms: number): string => `${formatSpan(ms)} ago`

const verdictOfSummary = (s: Summary | null): string => {
  if (s === null) return "Waiting for the first reconcile cycle"
  if (s.apps === 0) return "No apps declared"
  const of = `of ${plural(s.apps, "app", "apps")}`
  if (s.out_of_sync > 0) return `${s.out_of_sync} ${of} out of sync`
  if (s.unknown > 0) return `${s.unknown} ${of} could not be observed`
  return s.apps === 1 ? "The 1 app is in sync" : `All ${s.apps} apps in sync`
}

export const verdictOf = (snapshot: Snapshot | null): string => verdictOfSummary(snapshot === null ? null : summarize(snapshot.apps))

type Tone = "ok" | "bad" | "warn" | "info" | "neutral"

const toneOfVerdict = (s: Summary | null): Tone =>
  s === null ? "info" : s.out_of_sync > 0 ? "bad" : s.unknown > 0 ? "warn" : s.apps === 0 ? "neutral" : "ok"

const syncInfo: Record<Sync, { readonly text: string; readonly symbol: string; readonly tone: Tone; readonly rank: number }> = {
  out_of_sync: { text: "out of sync", symbol: "✗", tone: "bad", rank: 0 },
  unknown: { text: "unknown", symbol: "?", tone: "warn", rank: 1 },
  in_sync: { text: "in sync", symbol: "✓", tone: "ok", rank: 2 }
}

const healthTone: Record<Health, Tone> = { healthy: "ok", progressing: "info", degraded: "bad", unknown: "warn" }

const severityTone = (severity: string): Tone => {
  switch (severity.toLowerCase()) {
    case "critical":
    case "page":
    case "error":
      return "bad"
    case "warning":
      return "warn"
    case "info":
      return "info"
    default:
      return "neutral"
  }
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export const sortApps = (apps: ReadonlyArray<AppReport>): ReadonlyArray<AppReport> =>
  [...apps].sort((a, b) =>
    syncInfo[a.sync].rank - syncInfo[b.sync].rank || compareText(a.name, b.name) || compareText(a.appId, b.appId)
  )

// ---- fragments

const badge = (tone: Tone, text: string, symbol?: string): Html =>
  html`<span class="badge tone-${tone}">${symbol === undefined ? null : html`<span aria-hidden="true">${symbol} </span>`}${text}</span>`

const timeEl = (iso: string, text: string): Html => html`<time datetime="${iso}" title="${utcText(iso)}">${text}</time>`

const labelChips = (labels: Readonly<Record<string, string>>): HtmlChild => {
  const entries = Object.entries(labels).sort(([a], [b]) => compareText(a, b))
  return entries.length === 0
    ? null
    : html`<ul class="labels" aria-label="labels">${entries.map(([k, v]) => html`<li><code>${k}=${v}</code></li>`)}</ul>`
}

const cvmKey = (vmUuid: string | null, name: string): string => `${vmUuid ?? ""}\u0000${name}`

const replicasCell = (app: AppReport): string =>
  `${app.observed === null ? "–" : String(app.observed.replicas)} / ${formatReplicaRange(app.desired.replicas)}`

const cvmItem = (cvm: CvmReport, desiredStatus: string): Html => {
  const description = `vm_uuid ${cvm.vmUuid ?? "(none)"}, health ${cvm.health}, desired ${desiredStatus}`
  return html`<li title="${description}"><span class="cvm-name">${cvm.name}</span> ${
    badge(healthTone[cvm.health], cvm.status)
  }<span class="sr-only"> (${cvm.health})</span></li>`
}

const cvmsByName = (app: AppReport): ReadonlyArray<CvmReport> =>
  [...app.cvms].sort((a, b) => compareText(a.name, b.name) || compareText(a.vmUuid ?? "", b.vmUuid ?? ""))

const cvmsCell = (app: AppReport): Html => {
  if (app.cvms.length === 0) {
    const text = app.observed !== null && app.observed.replicas > 0 ? "no CVM details in the response" : "–"
    return html`<span class="muted">${text}</span>`
  }
  return html`<ul class="cvms">${cvmsByName(app).map((c) => cvmItem(c, app.desired.status))}</ul>`
}

const driftItem = (drift: Drift): Html => {
  switch (drift.kind) {
    case "missing_app":
      return html`<li>app missing (404)</li>`
    case "replicas":
      return html`<li>replicas: ${formatReplicaRange(drift.desired)} → ${drift.actual}</li>`
    case "status":
      return html`<li><span class="cvm-name">${drift.cvmName}</span> status: ${drift.desired} → ${drift.actual}</li>`
    case "attribute":
      return html`<li><span class="cvm-name">${drift.cvmName}</span> ${drift.field}: ${value(drift.desired)} → ${
        value(drift.actual)
      }</li>`
  }
}

const cvmOrder = (app: AppReport) => {
  const order = new Map(cvmsByName(app).map((c, i) => [cvmKey(c.vmUuid, c.name), i]))
  const rank = (d: Drift): number =>
    d.kind === "status" || d.kind === "attribute" ? 1 + (order.get(cvmKey(d.vmUuid, d.cvmName)) ?? app.cvms.length) : 0
  return (a: Drift, b: Drift): number => rank(a) - rank(b)
}

const detailsCell = (app: AppReport): Html => {
  if (app.sync === "unknown") {
    const e = app.error
    if (e === null) return html`<span class="muted">not observed</span>`
    const status = e.status !== null && !e.message.includes(String(e.status)) ? ` (HTTP ${e.status})` : ""
    return html`<p class="error"><strong>${e.reason}</strong>${status}: ${e.message}</p>`
  }
  if (app.drifts.length === 0) return html`<span class="muted">no drift</span>`
  // a stable sort keeps drifts of one CVM together in the CVM column's order
  return html`<ul class="drifts">${[...app.drifts].sort(cvmOrder(app)).map(driftItem)}</ul>`
}

/** Where the app lives in the Phala Cloud dashboard (the form `phala cvms get` prints as "App URL"). */
export const dashboardAppUrl = (appId: string, base: string = defaultDashboardUrl): string =>
  `${base.replace(/\/+$/, "")}/dashboard/cvms/app_${encodeURIComponent(appId)}`

export const defaultDashboardUrl = "https://cloud.phala.com"

/** The fragment id of an app's row: the target of alert links and permalinks. */
export const appAnchor = (appId: string): string => `app-${appId}`

/** A moment in a row, absolute (rows are rendered once per snapshot, so "ago" would age while they are kept). */
const momentEl = (ms: number, at: number): HtmlChild => {
  const iso = isoOf(ms)
  if (iso === null) return null
  const sameDay = isoOf(at)?.slice(0, 10) === iso.slice(0, 10)
  return html`<time datetime="${iso}" title="${utcText(iso)}">${sameDay ? `${iso.slice(11, 19)} UTC` : `${iso.slice(0, 16).replace("T", " ")} UTC`}</time>`
}

const momentsLines = (app: AppReport, moments: AppMoments, at: number) => {
  const since = moments.outOfSyncSince
  // right under the "out of sync" badge, "since …" reads as one phrase
  const drifted = since === null || app.sync === "in_sync" ? null : html`<span class="when">${
    app.sync === "unknown" ? "last known out of sync since " : "since "
  }${momentEl(since, at)}${moments.outOfSyncSinceExact ? null : " or earlier"} (${formatSpan(at - since)})</span>`
  const seen = moments.lastObservedAt
  const observed = seen === null
    ? html`<span class="when">not observed since phala-drift started</span>`
    : html`<span class="when">${app.sync === "unknown" ? "last observed " : "observed "}${momentEl(seen, at)}${
      app.sync === "unknown" ? ` (${formatSpan(at - seen)} before this update)` : null
    }</span>`
  const event = moments.lastEventRefreshAt
  const byEvent = event === null ? null : html`<span class="when">refreshed by a Phala Cloud event ${momentEl(event, at)}</span>`
  return { drifted, observed: byEvent === null ? observed : html`${observed}${byEvent}` }
}

interface RowContext {
  readonly moments: MomentsLookup | null
  readonly at: number
  readonly dashboardUrl: string
}

const appRow = (app: AppReport, context: RowContext): Html => {
  const sync = syncInfo[app.sync]
  const anchor = appAnchor(app.appId)
  const found = context.moments?.get(app.appId)
  const moments = found === undefined ? null : momentsLines(app, found, context.at)
  return html`<tr class="row-${sync.tone}" id="${anchor}">
<th scope="row"><span class="app-name">${app.name}</span><br><code class="app-id">${app.appId}</code>${
    labelChips(app.desired.labels)
  }<span class="app-links"><a href="${`?app=${encodeURIComponent(app.appId)}#${anchor}`}">permalink</a> · <a href="${
    dashboardAppUrl(app.appId, context.dashboardUrl)
  }" rel="noreferrer">Phala Cloud</a></span></th>
<td data-label="Sync">${badge(sync.tone, sync.text, sync.symbol)}${moments?.drifted}<span class="want">want ${app.desired.status}</span>${moments?.observed}</td>
<td class="num" data-label="Replicas">${replicasCell(app)}</td>
<td class="cvms-cell" data-label="CVMs">${cvmsCell(app)}</td>
<td data-label="Drift">${detailsCell(app)}</td>
</tr>`
}

// == filters: GET query parameters, applied on the server so they work without JavaScript

export type SyncFilter = Sync | "problems"

export interface AppFilter {
  /** Part of the app's name or id, any case. */
  readonly q: string | null
  readonly sync: SyncFilter | null
  /** `key=value` (that label with that value) or `key` (the label is set). */
  readonly label: string | null
  /** Exactly this app id: where alert links and permalinks land. */
  readonly app: string | null
}

export const noFilter: AppFilter = { q: null, sync: null, label: null, app: null }

const isFiltered = (f: AppFilter): boolean => f.q !== null || f.sync !== null || f.label !== null || f.app !== null

const syncFilterText: Record<SyncFilter, string> = {
  problems: "needs attention",
  out_of_sync: "out of sync",
  unknown: "unknown",
  in_sync: "in sync"
}

export const matchesFilter = (filter: AppFilter): (app: AppReport) => boolean => {
  const q = filter.q?.trim().toLowerCase().replace(/^app_/, "") ?? ""
  const label = filter.label
  // the same `key=value` strings the label options list, so whatever a key or value holds, an option finds its apps
  const hasLabel = (labels: Readonly<Record<string, string>>): boolean =>
    label === null || Object.hasOwn(labels, label) || Object.entries(labels).some(([k, v]) => `${k}=${v}` === label)
  return (app) =>
    (filter.app === null || app.appId === filter.app) &&
    (filter.sync === null || (filter.sync === "problems" ? app.sync !== "in_sync" : app.sync === filter.sync)) &&
    hasLabel(app.desired.labels) &&
    (q === "" || app.name.toLowerCase().includes(q) || app.appId.toLowerCase().includes(q))
}

/** The query string of a filtered view (and its page), as the form submits it. */
export const filterQuery = (filter: AppFilter, page?: number): string => {
  const params = new URLSearchParams()
  if (filter.q !== null) params.set("q", filter.q)
  if (filter.sync !== null) params.set("sync", filter.sync)
  if (filter.label !== null) params.set("label", filter.label)
  if (filter.app !== null) params.set("app", filter.app)
  if (page !== undefined) params.set("page", String(page))
  return params.toString()
}

// == the fleet, prepared once per published snapshot

/** Rows per page of the apps table: a page of a 10,000-app fleet stays around 100 KB. */
export const appsPerPage = 100
// pages kept rendered per listing: the first few and whatever people page through
const pagesKept = 8
// filtered listings kept per snapshot (a page of each), for people who keep a filtered view open
const listingsKept = 16
// a select lists the labels when there are few enough; beyond that the label is typed
const labelOptionsMax = 200

/** A list of apps, the whole fleet or the part a filter selects: counts and each page's rows, rendered once. */
export interface Listing {
  readonly filter: AppFilter
  readonly apps: number
  /** Apps that are out of sync or unknown: they come first, in that order. */
  readonly problems: number
  readonly inSync: number
  readonly pages: number
  /** The table rows of a page (clamped to 1..pages), rendered at the first request and kept. */
  readonly rows: (page: number) => Html
  /** Pages rendered so far (a page asked for again is not rendered again while kept). */
  readonly rendered: () => number
}

/**
 * The apps part of the page for one snapshot: counts, order and each page's table rows, rendered once. `pages`,
 * `problems`, `rows` and `rendered` are the whole fleet's listing.
 */
export interface FleetView extends Pick<Listing, "pages" | "problems" | "rows" | "rendered"> {
  readonly snapshot: Snapshot
  readonly moments: MomentsLookup | null
  readonly summary: Summary
  readonly verdict: string
  readonly pageSize: number
  /** The apps a filter selects, in the same order; the whole fleet for no filter. */
  readonly listing: (filter: AppFilter) => Listing
  /** Every `key=value` of the apps' labels, sorted (computed at the first call). */
  readonly labelOptions: () => ReadonlyArray<string>
  /**
   * The apps section of a page as UTF-8 bytes, encoded at the first request and kept (the first page of the whole
   * fleet stays): most of the page's bytes, which every request would otherwise render and encode again.
   */
  readonly section: (filter: AppFilter, page: number, linked: boolean) => Uint8Array
  /** Sections encoded so far. */
  readonly encoded: () => number
}

export const clampPage = (page: number, pages: number): number =>
  Number.isInteger(page) ? Math.min(Math.max(1, page), Math.max(1, pages)) : 1

const makeListing = (
  filter: AppFilter,
  apps: ReadonlyArray<AppReport>,
  size: number,
  kept: number,
  context: RowContext
): Listing => {
  const pages = Math.max(1, Math.ceil(apps.length / size))
  const inSync = apps.filter((a) => a.sync === "in_sync").length
  const cache = new Map<number, Html>()
  let rendered = 0
  const rows = (page: number): Html => {
    const p = clampPage(page, pages)
    const hit = cache.get(p)
    if (hit !== undefined) return hit
    const markup = join(apps.slice((p - 1) * size, p * size).map((app) => appRow(app, context)))
    rendered += 1
    // the first page stays (everyone lands on it); otherwise the page rendered longest ago goes
    if (cache.size >= kept) {
      for (const key of cache.keys()) {
        if (key !== 1) {
          cache.delete(key)
          break
        }
      }
    }
    cache.set(p, markup)
    return markup
  }
  return { filter, apps: apps.length, problems: apps.length - inSync, inSync, pages, rows, rendered: () => rendered }
}

/** Sorts and counts the fleet; rows are rendered per page when first asked for. */
export const prepareFleet = (
  snapshot: Snapshot,
  pageSize: number = appsPerPage,
  moments: MomentsLookup | null = null,
  dashboardUrl: string = defaultDashboardUrl
): FleetView => {
  const summary = summarize(snapshot.apps)
  const sorted = sortApps(snapshot.apps)
  const size = Math.max(1, Math.floor(pageSize))
  const context: RowContext = { moments, at: snapshot.generatedAt.getTime(), dashboardUrl }
  const all = makeListing(noFilter, sorted, size, pagesKept, context)
  const listings = new Map<string, Listing>()
  const listing = (filter: AppFilter): Listing => {
    if (!isFiltered(filter)) return all
    const key = filterQuery(filter)
    const hit = listings.get(key)
    if (hit !== undefined) return hit
    const made = makeListing(filter, sorted.filter(matchesFilter(filter)), size, 2, context)
    if (listings.size >= listingsKept) {
      const oldest = listings.keys().next()
      if (oldest.done !== true) listings.delete(oldest.value)
    }
    listings.set(key, made)
    return made
  }
  let labels: ReadonlyArray<string> | null = null
  const labelOptions = (): ReadonlyArray<string> => {
    if (labels === null) {
      const set = new Set<string>()
      for (const app of snapshot.apps) for (const [k, v] of Object.entries(app.desired.labels)) set.add(`${k}=${v}`)
      labels = [...set].sort(compareText)
    }
    return labels
  }
  const sections = new Map<string, Uint8Array>()
  const firstSection = sectionKey(noFilter, 1, true)
  let encoded = 0
  const view: FleetView = {
    snapshot,
    moments,
    summary,
    verdict: verdictOfSummary(summary),
    pageSize: size,
    pages: all.pages,
    problems: summary.out_of_sync + summary.unknown,
    rows: all.rows,
    rendered: all.rendered,
    listing,
    labelOptions,
    section: (filter, page, linked) => {
      const key = sectionKey(filter, clampPage(page, listing(filter).pages), linked)
      const hit = sections.get(key)
      if (hit !== undefined) return hit
      const bytes = utf8.encode(appsSection(view, 0, page, filter, linked).markup)
      encoded += 1
      if (sections.size >= pagesKept + listingsKept) {
        for (const old of sections.keys()) {
          if (old !== firstSection) {
            sections.delete(old)
            break
          }
        }
      }
      sections.set(key, bytes)
      return bytes
    },
    encoded: () => encoded
  }
  return view
}

const utf8 = new TextEncoder()
const sectionKey = (filter: AppFilter, page: number, linked: boolean): string => `${filterQuery(filter, page)}#${linked}`

const prepared = new WeakMap<Snapshot, FleetView>()

/** The fleet view of a snapshot (and its app moments), prepared at most once while the snapshot lives. */
export const fleetViewOf = (snapshot: Snapshot, moments: MomentsLookup | null = null): FleetView => {
  const hit = prepared.get(snapshot)
  if (hit !== undefined && (moments === null || hit.moments === moments)) return hit
  const view = prepareFleet(snapshot, appsPerPage, moments)
  prepared.set(snapshot, view)
  return view
}

const pageLink = (filter: AppFilter, page: number, text: string, rel: string | null): Html =>
  html`<li><a href="${`?${filterQuery(filter, page)}`}"${rel === null ? null : html` rel="${rel}"`}>${text}</a></li>`

const pageNav = (listing: Listing, page: number): Html => {
  const f = listing.filter
  return html`<nav class="pages" aria-label="Pages of apps"><ul>
${page > 1 ? [pageLink(f, 1, "« First", null), pageLink(f, page - 1, "‹ Previous", "prev")] : null}
<li aria-current="page">Page ${page} of ${listing.pages}</li>
${page < listing.pages ? [pageLink(f, page + 1, "Next ›", "next"), pageLink(f, listing.pages, "Last »", null)] : null}
</ul></nav>`
}

/** Where the problems are, when the list is longer than a page. */
const pageNote = (listing: Listing, pageSize: number, page: number, linked: boolean): Html => {
  const first = (page - 1) * pageSize + 1
  const last = Math.min(page * pageSize, listing.apps)
  const problemPages = Math.ceil(listing.problems / pageSize)
  const where = listing.problems === 0
    ? "Every app is in sync."
    : `${plural(listing.problems, "app needs", "apps need")} attention (out of sync first, then unknown)${
      linked ? `, on ${problemPages === 1 ? "page 1" : `pages 1–${problemPages}`}` : ""
    }; ${plural(listing.inSync, "app is", "apps are")} in sync.`
  return html`<p class="page-note">Apps ${first}–${last} of ${listing.apps}. ${where}${
    linked ? null : html` The full list is in the <a href="/api/v1/plan?format=text">text plan</a>.`
  }</p>`
}

const filterNote = (listing: Listing, total: number): Html => {
  const f = listing.filter
  const parts: Array<string> = []
  if (f.app !== null) parts.push(`app ${f.app}`)
  if (f.q !== null) parts.push(`name or id contains “${f.q}”`)
  if (f.sync !== null) parts.push(syncFilterText[f.sync])
  if (f.label !== null) parts.push(`label ${f.label}`)
  return html`<p class="filter-note" role="status">${plural(listing.apps, "app", "apps")} of ${total} shown: ${
    parts.join(", ")
  }. <a href="?">Show all apps</a></p>`
}

const option = (value: string, text: string, selected: boolean): Html =>
  html`<option value="${value}"${selected ? html` selected` : null}>${text}</option>`

/** A GET form: the browser puts the fields in the query string, the server filters (no JavaScript needed). */
const filterForm = (view: FleetView, filter: AppFilter): Html => {
  const labels = view.labelOptions()
  const labelField = labels.length <= labelOptionsMax && (filter.label === null || labels.includes(filter.label))
    ? html`<select id="f-label" name="label">${option("", "any", filter.label === null)}${
      labels.map((l) => option(l, l, l === filter.label))
    }</select>`
    : html`<input id="f-label" name="label" value="${filter.label ?? ""}" placeholder="key=value" autocomplete="off">`
  return html`<form class="filters" method="get" role="search" aria-label="Filter apps">
<div class="field"><label for="f-q">Search</label><input id="f-q" type="search" name="q" value="${
    filter.q ?? ""
  }" placeholder="app name or id" autocomplete="off" maxlength="200"></div>
<div class="field"><label for="f-sync">Sync</label><select id="f-sync" name="sync">${option("", "all", filter.sync === null)}${
    (["problems", "out_of_sync", "unknown", "in_sync"] as const).map((s) => option(s, syncFilterText[s], s === filter.sync))
  }</select></div>
<div class="field"><label for="f-label">Label</label>${labelField}</div>
<div class="field actions"><button type="submit">Filter</button>${isFiltered(filter) ? html` <a href="?">Clear</a>` : null}</div>
</form>`
}

const appsSection = (
  view: FleetView | null,
  refreshSeconds: number,
  page: number | undefined,
  filter: AppFilter,
  linked: boolean = page !== undefined
): Html => {
  if (view === null) {
    return html`<section aria-labelledby="apps-heading"><h2 id="apps-heading">Apps</h2>
<p class="empty">The daemon has started and is waiting for its first reconcile cycle to finish. This page reloads every ${
      plural(refreshSeconds, "second", "seconds")
    }.</p></section>`
  }
  const listing = view.listing(filter)
  const filtered = isFiltered(filter)
  const current = clampPage(page ?? 1, listing.pages)
  const paged = listing.pages > 1
  const rows = listing.apps > 0
    ? listing.rows(current)
    : view.summary.apps === 0
    ? html`<tr><td colspan="5" class="empty">No apps are declared in the config.</td></tr>`
    : html`<tr><td colspan="5" class="empty">No app matches. <a href="?">Show all apps</a></td></tr>`
  return html`<section aria-labelledby="apps-heading"><h2 id="apps-heading">Apps</h2>
${filtered ? filterNote(listing, view.summary.apps) : null}
${paged ? pageNote(listing, view.pageSize, current, linked) : null}
<div class="table-wrap" role="region" aria-labelledby="apps-caption" tabindex="0">
<table class="apps">
<caption id="apps-caption">Desired vs actual state per app (out of sync first), replicas as observed / desired${
    paged ? ` (apps ${(current - 1) * view.pageSize + 1}–${Math.min(current * view.pageSize, listing.apps)} of ${listing.apps})` : ""
  }</caption>
<thead><tr><th scope="col">App</th><th scope="col">Sync</th><th scope="col">Replicas</th><th scope="col">CVMs</th><th scope="col">Drift (desired → actual)</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>
${paged && linked ? pageNav(listing, current) : null}
</section>`
}

/** Rows of the unmanaged table; the rest is counted (the plan JSON lists them all). */
export const unmanagedShown = 100

const unmanagedSection = (unmanaged: ReadonlyArray<UnmanagedApp>): Html => {
  const rows = unmanaged.slice(0, unmanagedShown).map((app) => {
    const statuses = Object.entries(app.statuses).map(([status, n]) => `${n} ${status}`).join(", ")
    return html`<tr class="row-warn">
<th scope="row"><span class="app-name">${app.name}</span><br><code class="app-id">${app.appId}</code><span class="app-links"><a href="${
      dashboardAppUrl(app.appId)
    }" rel="noreferrer">Phala Cloud</a></span></th>
<td data-label="State">${badge("warn", "not declared", "+")}</td><td class="num" data-label="Replicas">${
      app.replicas === null ? "not listed" : String(app.replicas)
    }</td><td data-label="CVMs">${statuses === "" ? "—" : statuses}</td></tr>`
  })
  const more = unmanaged.length - unmanagedShown
  return html`<section id="unmanaged" aria-labelledby="unmanaged-heading"><h2 id="unmanaged-heading">Unmanaged apps</h2>
${
    unmanaged.length === 0
      ? html`<p class="empty">Every app of the workspace is declared or ignored.</p>`
      : html`<p>${plural(unmanaged.length, "app exists", "apps exist")} in the workspace but ${
        unmanaged.length === 1 ? "is" : "are"
      } not declared (<code>discovery.unmanaged: report</code>): declare ${unmanaged.length === 1 ? "it" : "them"} or add ${
        unmanaged.length === 1 ? "it" : "them"
      } to <code>discovery.ignore</code>.</p>
<div class="table-wrap" role="region" aria-labelledby="unmanaged-caption" tabindex="0">
<table class="apps">
<caption id="unmanaged-caption">Apps that exist but are not declared, by name</caption>
<thead><tr><th scope="col">App</th><th scope="col">State</th><th scope="col">Replicas</th><th scope="col">CVMs</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>
${more > 0 ? html`<p class="empty">and ${plural(more, "more app", "more apps")}: see <a href="/api/v1/plan">the plan</a>.</p>` : null}`
  }
</section>`
}

const knownAlertLabels = new Set(["alertname", "severity", "app_id", "app_name", "vm_uuid", "cvm_name"])

const alertRow = (alert: Alert, now: Date): Html => {
  const l = alert.labels
  const since = alert.state === "firing" ? alert.firedAt : alert.activeAt
  const sinceIso = isoOf(since)
  const extra = Object.fromEntries(Object.entries(l).filter(([k]) => !knownAlertLabels.has(k)))
  const severity = l["severity"] ?? "none"
  const cvm = l["cvm_name"] ?? l["vm_uuid"]
  return html`<tr>
<th scope="row">${l["alertname"] ?? alert.name}${alert.silenced ? html` ${badge("neutral", "silenced (maintenance)")}` : null}</th>
<td>${badge(severityTone(severity), severity)}</td>
<td>${l["app_name"] ?? "–"}${l["app_id"] === undefined ? null : html`<br><code class="app-id">${l["app_id"]}</code>`}</td>
<td>${cvm === undefined ? "–" : cvm}${
    l["vm_uuid"] !== undefined && l["cvm_name"] !== undefined ? html`<br><code class="app-id">${l["vm_uuid"]}</code>` : null
  }</td>
<td>${sinceIso === null ? "–" : timeEl(sinceIso, formatAge(now.getTime() - since))}</td>
<td>${alert.annotations["summary"] ?? ""}${labelChips(extra)}</td>
</tr>`
}

/** Rows per alert table: a fleet-wide outage can raise an alert per app. */
export const alertsPerTable = 100

/** The first `k` of `items` in `compare` order, without sorting them all (a request may see an alert per app). */
export const firstInOrder = <A>(items: ReadonlyArray<A>, k: number, compare: (a: A, b: A) => number): Array<A> => {
  const best: Array<A> = []
  for (const item of items) {
    const worst = best[best.length - 1]
    if (best.length >= k && worst !== undefined && compare(item, worst) >= 0) continue
    let lo = 0
    let hi = best.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compare(best[mid] as A, item) <= 0) lo = mid + 1
      else hi = mid
    }
    best.splice(lo, 0, item)
    if (best.length > k) best.pop()
  }
  return best
}

const alertTable = (id: string, title: string, alerts: ReadonlyArray<Alert>, empty: string, now: Date): Html => {
  const shown = firstInOrder(alerts, alertsPerTable, byActiveThenName)
  return html`<h3 id="${id}">${title} (${alerts.length})</h3>
${
    alerts.length === 0
      ? html`<p class="empty">${empty}</p>`
      : html`${
        alerts.length > shown.length
          ? html`<p class="page-note">The ${shown.length} active longest are listed; all ${alerts.length} are in <a href="/api/v1/alerts">/api/v1/alerts</a>.</p>`
          : null
      }<div class="table-wrap" role="region" aria-labelledby="${id}" tabindex="0"><table class="alerts">
<caption class="sr-only">${title} alerts</caption>
<thead><tr><th scope="col">Alert</th><th scope="col">Severity</th><th scope="col">App</th><th scope="col">CVM</th><th scope="col">Since</th><th scope="col">Summary</th></tr></thead>
<tbody>${shown.map((a) => alertRow(a, now))}</tbody>
</table></div>`
  }`
}

const byActiveThenName = (a: Alert, b: Alert): number =>
  a.activeAt - b.activeAt || compareText(a.name, b.name) || compareText(a.fingerprint, b.fingerprint)

const alertsSection = (input: StatusPageInput): Html => {
  if (!input.alertingEnabled) {
    return html`<section aria-labelledby="alerts-heading"><h2 id="alerts-heading">Alerts</h2>
<p class="muted">Built-in alerting is off (the config has no <code>alerting:</code> block). Prometheus can still alert on <a href="/metrics">/metrics</a>.</p></section>`
  }
  const firing = input.alerts.filter((a) => a.state === "firing")
  const pending = input.alerts.filter((a) => a.state === "pending")
  const note = input.stateDir !== null && input.stateDir !== undefined && input.stateDir.failing.length === 0
    ? stateDirNotice(input.stateDir, input.now)
    : null
  return html`<section aria-labelledby="alerts-heading"><h2 id="alerts-heading">Alerts</h2>
${note}
${alertTable("firing-heading", "Firing alerts", firing, "No alerts firing.", input.now)}
${alertTable("pending-heading", "Pending alerts", pending, "No alerts pending.", input.now)}
</section>`
}

/** Records listed on the page; the rest are in `GET /api/v1/actions`. */
export const actionsOnPage = 20

const resultTone: Record<ActionRecord["result"], Tone> = { intent: "info", ok: "ok", failed: "bad", skipped: "neutral", dry_run: "info" }

const actionRow = (r: ActionRecord, now: Date): Html => {
  const at = Date.parse(r.at)
  return html`<tr>
<td>${timeEl(r.at, formatAge(now.getTime() - at))}</td>
<td>${badge(resultTone[r.result], r.result === "intent" ? "sent" : r.result.replace("_", " "))}${r.reason === null ? null : html` <code>${r.reason}</code>`}</td>
<th scope="row">${r.action}</th>
<td>${r.app_name}<br><code class="app-id">${r.app_id}</code></td>
<td>${r.cvm_name}<br><code class="app-id">${r.vm_uuid}</code></td>
<td>${r.from} → ${r.to}, attempt ${r.attempt}${r.detail === "" ? null : html`<br>${shortError(r.detail)}`}</td>
</tr>`
}

const remediationSection = (panel: RemediationPanel | null | undefined, now: Date): HtmlChild => {
  if (panel === null || panel === undefined || (!panel.enabled && panel.recent.length === 0)) return null
  const state = !panel.enabled ? "off (records of earlier runs below)" : panel.dryRun ? "on, dry run: nothing is called" : "on"
  const shown = panel.recent.slice(0, actionsOnPage)
  return html`<section aria-labelledby="actions-heading"><h2 id="actions-heading">Self-healing</h2>
<p class="muted">Self-healing is ${state}. Every decision is in <a href="/api/v1/actions">/api/v1/actions</a>.</p>
${
    shown.length === 0
      ? html`<p class="empty">No self-healing decisions yet.</p>`
      : html`<div class="table-wrap" role="region" aria-labelledby="actions-heading" tabindex="0"><table class="alerts">
<caption class="sr-only">Recent self-healing decisions and actions, newest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">Result</th><th scope="col">Action</th><th scope="col">App</th><th scope="col">CVM</th><th scope="col">Detail</th></tr></thead>
<tbody>${shown.map((r) => actionRow(r, now))}</tbody>
</table></div>`
  }
</section>`
}

const shortError = (text: string): string => (text.length > 300 ? `${text.slice(0, 300)}…` : text)

const ageEl = (ms: number, now: Date): HtmlChild => {
  const iso = isoOf(ms)
  return iso === null ? null : timeEl(iso, formatAge(now.getTime() - ms))
}

/** Loud while state_dir cannot be written (notifications live in memory only); a quiet note once it works again. */
const stateDirNotice = (health: StateDirHealth | null | undefined, now: Date): HtmlChild => {
  if (health === null || health === undefined || health.writeFailures === 0) return null
  const failures = plural(health.writeFailures, "failed write", "failed writes")
  if (health.failing.length === 0) {
    const last = health.lastFailure
    return html`<p class="muted state-dir-note">State directory <code>${health.stateDir}</code>: ${failures} since start${
      last === null ? null : html`, the last ${ageEl(last.at, now)}`
    }; writing works again and every queued notification is on disk.</p>`
  }
  const held = health.unsavedNotifications
  return html`<section class="notice tone-bad" role="alert" aria-labelledby="state-dir-heading">
<h2 id="state-dir-heading">State directory cannot be written</h2>
<ul>${
    health.failing.map((p) =>
      html`<li><strong>${p.what}</strong> <code>${p.path}</code>: ${shortError(p.error)} (failing since ${ageEl(p.since, now)})</li>`
    )
  }</ul>
<p>${
    held === 0
      ? "No notification is waiting in memory."
      : `${plural(held, "notification is", "notifications are")} held in memory only: still delivered, and written as soon as the disk allows, but lost if the process stops first.`
  } ${failures} so far (<code>phala_drift_state_write_failures_total</code>); each is retried and logged.</p>
</section>`
}

const countsList = (s: Summary, unmanaged: number | null): Html =>
  html`<dl class="counts">
<div class="count tone-ok"><dt>In sync</dt><dd>${s.in_sync}</dd></div>
<div class="count tone-bad"><dt>Out of sync</dt><dd>${s.out_of_sync}</dd></div>
<div class="count tone-warn"><dt>Unknown</dt><dd>${s.unknown}</dd></div>
<div class="count tone-neutral"><dt>Drifts</dt><dd>${s.drifts}</dd></div>
${unmanaged === null ? null : html`<div class="count tone-warn"><dt>Unmanaged</dt><dd>${unmanaged}</dd></div>`}
</dl>`

const ageLine = (input: StatusPageInput, snapshot: Snapshot): Html => {
  const ageMs = input.now.getTime() - snapshot.generatedAt.getTime()
  const staleAfter = input.staleAfterSeconds === undefined ? 3 * input.refreshSeconds : input.staleAfterSeconds
  const stale = staleAfter !== null && ageMs > staleAfter * 1000
  const iso = isoOf(snapshot.generatedAt.getTime())
  return html`<p class="age${stale ? " stale" : ""}">${stale ? html`${badge("warn", "stale")} ` : null}Updated ${
    formatAge(ageMs)
  }${iso === null ? null : html` (<time datetime="${iso}">${utcText(iso)}</time>)`}${
    stale ? html` — no new data for longer than expected; is the daemon still polling?` : null
  }</p>`
}

const stylesheet = trusted(`
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1b1f24;--muted:#57606a;--card:#fff;--line:#d0d7de;--zebra:#f6f8fa;--link:#0550ae;
--ok-bg:#dafbe1;--ok-fg:#0f5323;--ok-line:#1a7f37;--bad-bg:#ffebe9;--bad-fg:#82071e;--bad-line:#cf222e;
--warn-bg:#fff8c5;--warn-fg:#6c4400;--warn-line:#bf8700;--info-bg:#ddf4ff;--info-fg:#0a3069;--info-line:#0969da;
--neutral-bg:#eaeef2;--neutral-fg:#24292f;--neutral-line:#8c959f}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9da7b3;--card:#161b22;--line:#30363d;--zebra:#1c2128;--link:#79c0ff;
--ok-bg:#0f3d1f;--ok-fg:#aff5b4;--ok-line:#3fb950;--bad-bg:#4c0d13;--bad-fg:#ffd1cf;--bad-line:#f85149;
--warn-bg:#3d2e00;--warn-fg:#f8e3a1;--warn-line:#d29922;--info-bg:#0c2d6b;--info-fg:#cae8ff;--info-line:#58a6ff;
--neutral-bg:#2d333b;--neutral-fg:#e6edf3;--neutral-line:#768390}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
a{color:var(--link)}
code{font:0.85em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
.wrap{max-width:1280px;margin:0 auto;padding:0 24px}
header.page{background:var(--card);border-bottom:1px solid var(--line);border-top:6px solid var(--neutral-line);padding:18px 0 16px}
header.page.tone-ok{border-top-color:var(--ok-line)}header.page.tone-bad{border-top-color:var(--bad-line)}
header.page.tone-warn{border-top-color:var(--warn-line)}header.page.tone-info{border-top-color:var(--info-line)}
.brand{margin:0;color:var(--muted);font-size:13px;letter-spacing:.04em;text-transform:uppercase}
h1{margin:2px 0 6px;font-size:28px;line-height:1.25}
h2{font-size:20px;margin:28px 0 10px}
h3{font-size:16px;margin:18px 0 8px}
.age{margin:0 0 12px;color:var(--muted)}
.age.stale{color:var(--warn-fg);background:var(--warn-bg);border:1px solid var(--warn-line);border-radius:6px;padding:6px 10px;display:inline-block}
.counts{display:flex;flex-wrap:wrap;gap:10px;margin:0;padding:0}
.count{min-width:120px;padding:8px 14px;border-radius:8px;border:1px solid var(--line);border-left-width:5px;background:var(--card)}
.count dt{font-size:13px;color:var(--muted)}.count dd{margin:0;font-size:24px;font-weight:700;line-height:1.2}
.count.tone-ok{border-left-color:var(--ok-line)}.count.tone-bad{border-left-color:var(--bad-line)}
.count.tone-warn{border-left-color:var(--warn-line)}.count.tone-neutral{border-left-color:var(--neutral-line)}
.table-wrap{position:relative;overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
.table-wrap:focus-visible{outline:2px solid var(--link);outline-offset:2px}
table{border-collapse:collapse;width:100%;min-width:760px}
table.alerts{table-layout:fixed;min-width:900px}
table.alerts th:nth-child(1){width:20%}table.alerts th:nth-child(2){width:11%}table.alerts th:nth-child(3){width:22%}
table.alerts th:nth-child(4){width:17%}table.alerts th:nth-child(5){width:10%}
table.alerts td,table.alerts th{overflow-wrap:anywhere}
time{white-space:nowrap}
caption{caption-side:top;text-align:left;padding:10px 14px;color:var(--muted);font-size:13px;border-bottom:1px solid var(--line)}
th,td{text-align:left;vertical-align:top;padding:10px 14px;border-bottom:1px solid var(--line)}
thead th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);background:var(--zebra);white-space:nowrap}
tbody tr:last-child>*{border-bottom:0}
tbody th{font-weight:400}
table.apps tbody tr>th:first-child{border-left:4px solid transparent}
tr.row-ok>th:first-child{border-left-color:var(--ok-line)!important}tr.row-bad>th:first-child{border-left-color:var(--bad-line)!important}
tr.row-warn>th:first-child{border-left-color:var(--warn-line)!important}
.app-name{font-weight:600;overflow-wrap:anywhere}
.app-id{color:var(--muted);font-size:12px}
.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.muted{color:var(--muted)}
.want{display:block;margin-top:4px;color:var(--muted);font-size:13px}
.empty{color:var(--muted);font-style:italic}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;border:1px solid;font-size:13px;font-weight:600;line-height:1.5;white-space:nowrap}
.badge.tone-ok{background:var(--ok-bg);color:var(--ok-fg);border-color:var(--ok-line)}
.badge.tone-bad{background:var(--bad-bg);color:var(--bad-fg);border-color:var(--bad-line)}
.badge.tone-warn{background:var(--warn-bg);color:var(--warn-fg);border-color:var(--warn-line)}
.badge.tone-info{background:var(--info-bg);color:var(--info-fg);border-color:var(--info-line)}
.badge.tone-neutral{background:var(--neutral-bg);color:var(--neutral-fg);border-color:var(--neutral-line)}
ul.cvms,ul.drifts,ul.labels{list-style:none;margin:0;padding:0}
ul.cvms li{display:flex;gap:8px;align-items:center;justify-content:space-between;padding:2px 0}
ul.drifts li{padding:2px 0}
ul.drifts li+li,ul.cvms li+li{border-top:1px dashed var(--line)}
.cvm-name{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:13px;overflow-wrap:anywhere}
td.cvms-cell{min-width:230px}
ul.drifts .cvm-name{font-weight:600}
ul.labels{display:flex;flex-wrap:wrap;gap:4px;margin-top:4px}
ul.labels code{background:var(--neutral-bg);border-radius:4px;padding:0 5px;font-size:11px}
.error{margin:0;color:var(--bad-fg)}
.notice{margin:20px 0 0;padding:10px 16px;border-radius:8px;border:1px solid;border-left-width:6px;overflow-wrap:anywhere}
.notice.tone-bad{background:var(--bad-bg);color:var(--bad-fg);border-color:var(--bad-line)}
.notice h2{margin:4px 0 6px;font-size:18px}.notice ul{margin:0 0 6px;padding-left:20px}.notice p{margin:0 0 4px}
footer.page{margin:32px 0 24px;padding-top:12px;border-top:1px solid var(--line);color:var(--muted);font-size:13px}
footer nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:16px;margin:0 0 6px;padding:0}
@media (max-width:640px){.wrap{padding:0 12px}h1{font-size:22px}th,td{padding:8px 10px}.count{min-width:0;flex:1 1 40%}}
.page-note{margin:0 0 10px;color:var(--muted)}
nav.pages ul{list-style:none;display:flex;flex-wrap:wrap;gap:14px;align-items:center;margin:12px 0 0;padding:0}
nav.pages [aria-current]{font-weight:600}
.when{display:block;margin-top:2px;color:var(--muted);font-size:13px}
.app-links{display:block;margin-top:4px;font-size:13px}
ul.labels code{overflow-wrap:anywhere}
table.apps tbody tr:target>*{background:var(--info-bg)}
table.apps tbody tr{scroll-margin-top:12px}
.refresh-status{margin:12px 0 0;color:var(--warn-fg)}.refresh-status:empty{display:none}
form.filters{display:flex;flex-wrap:wrap;gap:10px 16px;align-items:flex-end;margin:20px 0 0;padding:12px 14px;background:var(--card);border:1px solid var(--line);border-radius:8px}
form.filters .field{display:flex;flex-direction:column;gap:2px;min-width:0;flex:1 1 160px}
form.filters .field.actions{flex:0 0 auto;flex-direction:row;align-items:center;gap:12px}
form.filters label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
form.filters input,form.filters select,form.filters button{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:5px 8px;width:100%;min-width:0}
form.filters button{width:auto;background:var(--link);color:var(--card);border-color:var(--link);font-weight:600;padding:5px 16px;cursor:pointer}
.filter-note{margin:0 0 10px}
@media (max-width:640px){
table.apps{min-width:0}
table.apps,table.apps tbody,table.apps tr,table.apps th,table.apps td,table.apps caption{display:block;width:auto}
table.apps thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0,0,0,0)}
table.apps tbody tr{border-bottom:1px solid var(--line);border-left:4px solid transparent}
table.apps tbody tr.row-ok{border-left-color:var(--ok-line)}table.apps tbody tr.row-bad{border-left-color:var(--bad-line)}
table.apps tbody tr.row-warn{border-left-color:var(--warn-line)}
table.apps tbody tr>th:first-child{border-left:0}
table.apps tbody tr>*{border-bottom:0;padding:6px 12px}
table.apps td[data-label]::before{content:attr(data-label);display:block;font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
td.cvms-cell{min-width:0}
table.apps .num{white-space:normal}
}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
`)

/**
 * Refreshes the page in place: every `data-refresh` seconds it fetches this same URL and swaps the `data-live` parts
 * (header, apps, alerts, footer line), so the scroll position, the filter form being typed in and an open anchor stay.
 * A failed fetch says so in `#refresh-status` and is tried again. Without JavaScript, `<noscript>`'s meta refresh
 * reloads the whole page instead.
 */
export const refreshScript = `(() => {
  const period = Math.max(1, Number(document.body.dataset.refresh) || 30) * 1000
  const status = document.getElementById("refresh-status")
  const tick = async () => {
    try {
      const response = await fetch(location.href, { cache: "no-store", credentials: "same-origin" })
      if (!response.ok) throw new Error("HTTP " + response.status)
      const next = new DOMParser().parseFromString(await response.text(), "text/html")
      const y = window.scrollY
      for (const part of document.querySelectorAll("[data-live]")) {
        const fresh = next.getElementById(part.id)
        if (fresh !== null) part.replaceWith(document.importNode(fresh, true))
      }
      document.title = next.title
      window.scrollTo(window.scrollX, y)
      if (status !== null) status.textContent = ""
    } catch (error) {
      if (status !== null) status.textContent = "Could not refresh at " + new Date().toLocaleTimeString() + " (" + error.message + "); the data below may be old. Retrying."
    }
    setTimeout(tick, period)
  }
  setTimeout(tick, period)
})()`

/** For the page's Content-Security-Policy: the one script the page may run. */
export const refreshScriptHash = `sha256-${createHash("sha256").update(refreshScript).digest("base64")}`

type AppsPart = (view: FleetView | null, refreshSeconds: number, filter: AppFilter) => Html

/** The page served at `GET /`: a complete HTML document, no scripts, no external assets. */
export const renderStatusPage = (input: StatusPageInput): string =>
  renderPage(input, (view, refresh, filter) => appsSection(view, refresh, input.page, filter))

// escaped data never holds "<", so the slot cannot come from an app's name, a label or an alert
const sectionSlot = "<!--phala-drift:apps-->"

/**
 * The same page as UTF-8 bytes, with the apps section (most of a fleet's page) taken as the fleet view keeps it
 * encoded: a request renders and encodes only the header, the alerts and the footer.
 */
export const renderStatusPageBytes = (input: StatusPageInput): Uint8Array => {
  const slot: { bytes: Uint8Array | null } = { bytes: null }
  const markup = renderPage(input, (view, refresh, filter) => {
    if (view === null) return appsSection(view, refresh, input.page, filter)
    slot.bytes = view.section(filter, input.page ?? 1, input.page !== undefined)
    return trusted(sectionSlot)
  })
  if (slot.bytes === null) return utf8.encode(markup)
  const at = markup.indexOf(sectionSlot)
  const head = utf8.encode(markup.slice(0, at))
  const tail = utf8.encode(markup.slice(at + sectionSlot.length))
  const page = new Uint8Array(head.length + slot.bytes.length + tail.length)
  page.set(head)
  page.set(slot.bytes, head.length)
  page.set(tail, head.length + slot.bytes.length)
  return page
}

const renderPage = (input: StatusPageInput, appsPart: AppsPart): string => {
  const { snapshot } = input
  const moments = input.moments ?? null
  const view = snapshot === null
    ? null
    : input.fleet?.snapshot === snapshot && (moments === null || input.fleet.moments === moments)
    ? input.fleet
    : fleetViewOf(snapshot, moments)
  const summary = view === null ? null : view.summary
  const verdict = verdictOfSummary(summary)
  const refresh = Number.isFinite(input.refreshSeconds) ? Math.max(1, Math.round(input.refreshSeconds)) : 30
  const nowIso = isoOf(input.now.getTime())
  const filter = input.filter ?? noFilter
  const page = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="${refresh}"></noscript>
<meta name="color-scheme" content="light dark">
<title>${verdict} · phala-drift</title>
<style>${stylesheet}</style>
</head>
<body data-refresh="${refresh}">
<header class="page tone-${toneOfVerdict(summary)}" id="live-header" data-live><div class="wrap">
<p class="brand">phala-drift status</p>
<h1>${verdict}</h1>
${snapshot === null ? html`<p class="age">No data yet.</p>` : ageLine({ ...input, refreshSeconds: refresh }, snapshot)}
${summary === null ? null : countsList(summary, snapshot?.unmanaged?.length ?? null)}
</div></header>
<main class="wrap">
<p id="refresh-status" class="refresh-status" role="status"></p>
${view === null ? null : filterForm(view, filter)}
<div id="live-main" data-live>
${input.stateDir !== null && input.stateDir !== undefined && input.stateDir.failing.length > 0 ? stateDirNotice(input.stateDir, input.now) : null}
${appsPart(view, refresh, filter)}
${snapshot?.unmanaged === undefined ? null : unmanagedSection(snapshot.unmanaged)}
${alertsSection(input)}
${remediationSection(input.remediation, input.now)}
</div>
</main>
<footer class="page wrap">
<nav aria-label="Machine-readable views"><ul>
<li><a href="/api/v1/plan?format=text">Plan (text)</a></li>
<li><a href="/api/v1/plan">Plan (JSON)</a></li>
<li><a href="/metrics">Prometheus metrics</a></li>
</ul></nav>
<p id="live-footer" data-live>phala-drift ${input.version}${
    nowIso === null ? null : html` · page rendered <time datetime="${nowIso}">${utcText(nowIso)}</time>`
  } · refreshes every ${plural(refresh, "second", "seconds")}</p>
</footer>
<script>${trusted(refreshScript)}</script>
</body>
</html>
`
  return page.markup
}
