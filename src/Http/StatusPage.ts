import type { StateDirHealth } from "../Runtime/AlertsView.js"
import type { Alert } from "../Core/Domain/Alert.js"
import type { ReplicaRange } from "../Core/Domain/ReplicaRange.js"
import type { AppReport, CvmReport, Drift, Health, Snapshot, Summary, Sync } from "../Core/Domain/Report.js"
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
}

// ---- text helpers

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`

const range = (r: ReplicaRange): string =>
  r.max === null ? `${r.min}+` : r.min === r.max ? String(r.min) : `${r.min}..${r.max}`

const value = (v: string | number | null): string => (v === null ? "(none)" : String(v))

const isoOf = (ms: number): string | null => {
  const d = new Date(ms)
  return Number.isFinite(d.getTime()) ? d.toISOString() : null
}

const utcText = (iso: string): string => `${iso.slice(0, 19).replace("T", " ")} UTC`

export const formatAge = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s ago`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ago`
  const h = Math.floor(m / 60)
  return h < 48 ? `${h} h ago` : `${Math.floor(h / 24)} d ago`
}

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
  `${app.observed === null ? "–" : String(app.observed.replicas)} / ${range(app.desired.replicas)}`

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
      return html`<li>replicas: ${range(drift.desired)} → ${drift.actual}</li>`
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

const appRow = (app: AppReport): Html => {
  const sync = syncInfo[app.sync]
  return html`<tr class="row-${sync.tone}">
<th scope="row"><span class="app-name">${app.name}</span><br><code class="app-id">${app.appId}</code>${
    labelChips(app.desired.labels)
  }</th>
<td>${badge(sync.tone, sync.text, sync.symbol)}<span class="want">want ${app.desired.status}</span></td>
<td class="num">${replicasCell(app)}</td>
<td class="cvms-cell">${cvmsCell(app)}</td>
<td>${detailsCell(app)}</td>
</tr>`
}

// == the fleet, prepared once per published snapshot

/** Rows per page of the apps table: a page of a 10,000-app fleet stays around 100 KB. */
export const appsPerPage = 100
// pages kept rendered per snapshot: the first few and whatever people page through
const pagesKept = 8

/** The apps part of the page for one snapshot: counts, order and each page's table rows, rendered once. */
export interface FleetView {
  readonly snapshot: Snapshot
  readonly summary: Summary
  readonly verdict: string
  readonly pageSize: number
  readonly pages: number
  /** Apps that are out of sync or unknown: they come first, in that order. */
  readonly problems: number
  /** The table rows of a page (clamped to 1..pages), rendered at the first request and kept. */
  readonly rows: (page: number) => Html
  /** Pages rendered so far (a page asked for again is not rendered again while kept). */
  readonly rendered: () => number
}

export const clampPage = (page: number, pages: number): number =>
  Number.isInteger(page) ? Math.min(Math.max(1, page), Math.max(1, pages)) : 1

/** Sorts and counts the fleet; rows are rendered per page when first asked for. */
export const prepareFleet = (snapshot: Snapshot, pageSize: number = appsPerPage): FleetView => {
  const summary = summarize(snapshot.apps)
  const sorted = sortApps(snapshot.apps)
  const size = Math.max(1, Math.floor(pageSize))
  const pages = Math.max(1, Math.ceil(sorted.length / size))
  const kept = new Map<number, Html>()
  let rendered = 0
  const rows = (page: number): Html => {
    const p = clampPage(page, pages)
    const hit = kept.get(p)
    if (hit !== undefined) return hit
    const markup = join(sorted.slice((p - 1) * size, p * size).map(appRow))
    rendered += 1
    // the first page stays (everyone lands on it); otherwise the page rendered longest ago goes
    if (kept.size >= pagesKept) {
      for (const key of kept.keys()) {
        if (key !== 1) {
          kept.delete(key)
          break
        }
      }
    }
    kept.set(p, markup)
    return markup
  }
  return {
    snapshot,
    summary,
    verdict: verdictOfSummary(summary),
    pageSize: size,
    pages,
    problems: summary.out_of_sync + summary.unknown,
    rows,
    rendered: () => rendered
  }
}

const prepared = new WeakMap<Snapshot, FleetView>()

/** The fleet view of a snapshot, prepared at most once while the snapshot lives. */
export const fleetViewOf = (snapshot: Snapshot): FleetView => {
  const hit = prepared.get(snapshot)
  if (hit !== undefined) return hit
  const view = prepareFleet(snapshot)
  prepared.set(snapshot, view)
  return view
}

const pageLink = (page: number, text: string, rel: string | null): Html =>
  html`<li><a href="?page=${page}"${rel === null ? null : html` rel="${rel}"`}>${text}</a></li>`

const pageNav = (page: number, pages: number): Html =>
  html`<nav class="pages" aria-label="Pages of apps"><ul>
${page > 1 ? [pageLink(1, "« First", null), pageLink(page - 1, "‹ Previous", "prev")] : null}
<li aria-current="page">Page ${page} of ${pages}</li>
${page < pages ? [pageLink(page + 1, "Next ›", "next"), pageLink(pages, "Last »", null)] : null}
</ul></nav>`

/** Where the problems are, when the fleet is longer than a page. */
const pageNote = (view: FleetView, page: number, linked: boolean): Html => {
  const first = (page - 1) * view.pageSize + 1
  const last = Math.min(page * view.pageSize, view.summary.apps)
  const problemPages = Math.ceil(view.problems / view.pageSize)
  const where = view.problems === 0
    ? "Every app is in sync."
    : `${plural(view.problems, "app needs", "apps need")} attention (out of sync first, then unknown)${
      linked ? `, on ${problemPages === 1 ? "page 1" : `pages 1–${problemPages}`}` : ""
    }; ${plural(view.summary.in_sync, "app is", "apps are")} in sync.`
  return html`<p class="page-note">Apps ${first}–${last} of ${view.summary.apps}. ${where}${
    linked ? null : html` The full list is in the <a href="/api/v1/plan?format=text">text plan</a>.`
  }</p>`
}

const appsSection = (view: FleetView | null, refreshSeconds: number, page: number | undefined): Html => {
  if (view === null) {
    return html`<section aria-labelledby="apps-heading"><h2 id="apps-heading">Apps</h2>
<p class="empty">The daemon has started and is waiting for its first reconcile cycle to finish. This page reloads every ${
      plural(refreshSeconds, "second", "seconds")
    }.</p></section>`
  }
  const current = clampPage(page ?? 1, view.pages)
  const paged = view.pages > 1
  const rows = view.summary.apps === 0
    ? html`<tr><td colspan="5" class="empty">No apps are declared in the config.</td></tr>`
    : view.rows(current)
  return html`<section aria-labelledby="apps-heading"><h2 id="apps-heading">Apps</h2>
${paged ? pageNote(view, current, page !== undefined) : null}
<div class="table-wrap" role="region" aria-labelledby="apps-caption" tabindex="0">
<table class="apps">
<caption id="apps-caption">Desired vs actual state per app (out of sync first), replicas as observed / desired${
    paged ? ` (apps ${(current - 1) * view.pageSize + 1}–${Math.min(current * view.pageSize, view.summary.apps)} of ${view.summary.apps})` : ""
  }</caption>
<thead><tr><th scope="col">App</th><th scope="col">Sync</th><th scope="col">Replicas</th><th scope="col">CVMs</th><th scope="col">Drift (desired → actual)</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>
${paged && page !== undefined ? pageNav(current, view.pages) : null}
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

const countsList = (s: Summary): Html =>
  html`<dl class="counts">
<div class="count tone-ok"><dt>In sync</dt><dd>${s.in_sync}</dd></div>
<div class="count tone-bad"><dt>Out of sync</dt><dd>${s.out_of_sync}</dd></div>
<div class="count tone-warn"><dt>Unknown</dt><dd>${s.unknown}</dd></div>
<div class="count tone-neutral"><dt>Drifts</dt><dd>${s.drifts}</dd></div>
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
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
`)

/** The page served at `GET /`: a complete HTML document, no scripts, no external assets. */
export const renderStatusPage = (input: StatusPageInput): string => {
  const { snapshot } = input
  const view = snapshot === null ? null : input.fleet?.snapshot === snapshot ? input.fleet : fleetViewOf(snapshot)
  const summary = view === null ? null : view.summary
  const verdict = verdictOfSummary(summary)
  const refresh = Number.isFinite(input.refreshSeconds) ? Math.max(1, Math.round(input.refreshSeconds)) : 30
  const nowIso = isoOf(input.now.getTime())
  const page = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${refresh}">
<meta name="color-scheme" content="light dark">
<title>${verdict} · phala-drift</title>
<style>${stylesheet}</style>
</head>
<body>
<header class="page tone-${toneOfVerdict(summary)}"><div class="wrap">
<p class="brand">phala-drift status</p>
<h1>${verdict}</h1>
${snapshot === null ? html`<p class="age">No data yet.</p>` : ageLine({ ...input, refreshSeconds: refresh }, snapshot)}
${summary === null ? null : countsList(summary)}
</div></header>
<main class="wrap">
${input.stateDir !== null && input.stateDir !== undefined && input.stateDir.failing.length > 0 ? stateDirNotice(input.stateDir, input.now) : null}
${appsSection(view, refresh, input.page)}
${alertsSection(input)}
</main>
<footer class="page wrap">
<nav aria-label="Machine-readable views"><ul>
<li><a href="/api/v1/plan?format=text">Plan (text)</a></li>
<li><a href="/api/v1/plan">Plan (JSON)</a></li>
<li><a href="/metrics">Prometheus metrics</a></li>
</ul></nav>
<p>phala-drift ${input.version}${
    nowIso === null ? null : html` · page rendered <time datetime="${nowIso}">${utcText(nowIso)}</time>`
  } · reloads every ${plural(refresh, "second", "seconds")}</p>
</footer>
</body>
</html>
`
  return page.markup
}
