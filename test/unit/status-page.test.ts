import { createHash } from "node:crypto"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, TestClock } from "effect"
import { AlertsView, type StateDirHealth } from "../../src/Runtime/AlertsView.js"
import { ConfigStore } from "../../src/Runtime/ConfigStore.js"
import { advanceTimeline } from "../../src/Runtime/AppTimeline.js"
import { LatestSnapshot } from "../../src/Runtime/LatestSnapshot.js"
import type { FiringAlert, PendingAlert } from "../../src/Core/Domain/Alert.js"
import type { DaemonConfig, PollSchedule } from "../../src/Core/Domain/App.js"
import { FetchFailure, Observation } from "../../src/Core/Domain/Observation.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { escapeHtml, html } from "../../src/Http/Html.js"
import {
  alertsPerTable,
  appsPerPage,
  fleetViewOf,
  formatAge,
  noFilter,
  prepareFleet,
  refreshScript,
  refreshScriptHash,
  renderStatusPage,
  renderStatusPageBytes,
  type StatusPageInput
} from "../../src/Http/StatusPage.js"
import { refreshSecondsFor, staleAfterSecondsFor, statusPageRoute } from "../../src/Http/StatusPageRoute.js"
import { cvm, desiredApp, observedApp, twoReplicas } from "../support/builders.js"
import { appIdOf, fleetApp } from "../support/fleet.js"

const NOW = new Date("2026-11-28T16:00:12.000Z")
const GENERATED = new Date("2026-11-28T16:00:00.000Z")

const ids = {
  payments: "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4",
  billing: "b1111111111111111111111111111111111111bb",
  batch: "c2222222222222222222222222222222222222cc",
  legacy: "d3333333333333333333333333333333333333dd",
  search: "e4444444444444444444444444444444444444ee"
}

const inSyncApp = (appId: string, name: string) =>
  diffApp(
    desiredApp({ appId, name }),
    Observation.found(observedApp(twoReplicas().map((c, i) => cvm({ ...c, vmUuid: `${appId.slice(0, 8)}-${i}`, name: `${name}-${i}` })), { appId }))
  )

const mixedFleet = (): Snapshot => ({
  generatedAt: GENERATED,
  apps: [
    inSyncApp(ids.search, "search"),
    diffApp(
      desiredApp({ appId: ids.payments, cvm: { instance_type: "tdx.large" } }),
      Observation.found(observedApp([
        cvm({ name: "payments-0" }),
        cvm({ vmUuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51", name: "payments-1", status: "stopped", instanceType: "tdx.medium" })
      ], { appId: ids.payments }))
    ),
    diffApp(
      desiredApp({ appId: ids.billing, name: "billing" }),
      Observation.failed(new FetchFailure({ appId: ids.billing, reason: "rate_limited", status: 429, message: "Rate limit exceeded" }))
    ),
    diffApp(
      desiredApp({ appId: ids.batch, name: "batch-job", replicas: { min: 2, max: 4 } }),
      Observation.found(observedApp([cvm({ vmUuid: "5d0c3f7e-2b1a-4c9d-8e7f-6a5b4c3d2e1f", name: "batch-job-0" })], { appId: ids.batch }))
    ),
    diffApp(desiredApp({ appId: ids.legacy, name: "legacy", replicas: { min: 1, max: 1 } }), Observation.notFound)
  ]
})

const input = (overrides: Partial<StatusPageInput> = {}): StatusPageInput => ({
  snapshot: mixedFleet(),
  alerts: [],
  alertingEnabled: false,
  now: NOW,
  refreshSeconds: 10,
  version: "0.1.0",
  ...overrides
})

const alert = (overrides: Partial<FiringAlert> = {}): FiringAlert => ({
  fingerprint: "f1",
  name: "PhalaCvmStatusDrift",
  labels: {
    alertname: "PhalaCvmStatusDrift",
    severity: "critical",
    app_id: ids.payments,
    app_name: "payments-api",
    vm_uuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51",
    cvm_name: "payments-1"
  },
  annotations: { summary: "CVM payments-1 is stopped, want running" },
  state: "firing",
  activeAt: NOW.getTime() - 300_000,
  firedAt: NOW.getTime() - 180_000,
  lastActiveAt: NOW.getTime(),
  resolvedAt: null,
  silenced: false,
  announced: true,
  ...overrides
})

const healthyDir: StateDirHealth = { stateDir: "/var/lib/phala-drift", writeFailures: 0, failing: [], lastFailure: null, unsavedNotifications: 0 }
const healthy = Effect.succeed(healthyDir)

/** The rendered rows of the apps table, one string each, in document order. */
const appRows = (page: string): ReadonlyArray<string> => {
  const body = page.split("<table class=\"apps\">")[1]?.split("</tbody>")[0] ?? ""
  return body.split("<tr class=").slice(1)
}

/** Text content with tags removed and the entities we emit decoded, roughly what a reader sees. */
const textOf = (markup: string): string =>
  markup.replace(/<style>[^]*?<\/style>/g, "").replace(/<\/(?:dt|dd|td|th|li|p|h\d|caption|div|title)>|<br>/g, " ")
    .replace(/<[^>]*>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&").replace(/\s+/g, " ")

/** The page without its own refresh script, to check that nothing else is a script. */
const withoutScript = (page: string): string => page.replace(`<script>${refreshScript}</script>`, "")

describe("Html", () => {
  it("escapes the five characters that matter and keeps nested Html", () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe("&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
    const inner = html`<b>${"<i>"}</b>`
    expect(html`<p title="${"\"x"}">${inner}${["<", 1, null, false, undefined]}</p>`.markup)
      .toBe("<p title=\"&quot;x\"><b>&lt;i&gt;</b>&lt;1</p>")
  })
})

describe("renderStatusPage", () => {
  it("is a complete, accessible HTML document that reloads itself", () => {
    const page = renderStatusPage(input())
    expect(page.startsWith("<!DOCTYPE html>\n<html lang=\"en\">")).toBe(true)
    expect(page).toContain("<meta charset=\"utf-8\">")
    expect(page).toContain("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    // without JavaScript the whole page reloads; with it, the one script refreshes it in place
    expect(page).toContain("<noscript><meta http-equiv=\"refresh\" content=\"10\"></noscript>")
    expect(page).toContain("<body data-refresh=\"10\">")
    expect(page.match(/<script/g)).toHaveLength(1)
    expect(page).toContain(`<script>${refreshScript}</script>`)
    expect(page).toContain("<title>3 of 5 apps out of sync · phala-drift</title>")
    for (const landmark of ["<header", "<main", "<footer"]) expect(page).toContain(landmark)
    expect(page).toMatch(/<caption id="apps-caption">[^<]+<\/caption>/)
    expect(page.match(/<th scope="col">/g)?.length).toBe(5)
    expect(withoutScript(page)).not.toMatch(/<script|<link|src=/i)
    const headings = [...page.matchAll(/<h([1-6])/g)].map((m) => Number(m[1]))
    expect(headings[0]).toBe(1)
    headings.forEach((level, i) => expect(level - (headings[i - 1] ?? 0)).toBeLessThanOrEqual(1))
    for (const href of ["/api/v1/plan?format=text", "/api/v1/plan", "/metrics"]) expect(page).toContain(`href="${escapeHtml(href)}"`)
  })

  it("says it is waiting before the first cycle", () => {
    const page = renderStatusPage(input({ snapshot: null }))
    expect(page).toContain("<h1>Waiting for the first reconcile cycle</h1>")
    expect(page).toContain("<title>Waiting for the first reconcile cycle · phala-drift</title>")
    expect(page).toContain("waiting for its first reconcile cycle")
    expect(page).not.toContain("<table")
  })

  it("shows an all-green fleet with counts and the data age", () => {
    const page = renderStatusPage(input({ snapshot: { generatedAt: GENERATED, apps: [inSyncApp(ids.search, "search"), inSyncApp(ids.batch, "batch")] } }))
    expect(page).toContain("<h1>All 2 apps in sync</h1>")
    const text = textOf(page)
    expect(text).toContain("In sync 2")
    expect(text).toContain("Out of sync 0")
    expect(text).toContain("Drifts 0")
    expect(text).toContain("Updated 12 s ago (2026-11-28 16:00:00 UTC)")
    expect(page).toContain("<time datetime=\"2026-11-28T16:00:00.000Z\">")
    expect(textOf(page)).not.toContain("stale")
    expect(appRows(page).map((r) => r.match(/class="app-name">([^<]+)</)?.[1])).toEqual(["batch", "search"])
    expect(text).toContain("2 / 2")
    expect(page.match(/>running<\/span>/g)?.length).toBe(4)
  })

  it("lists a mixed fleet out of sync first, then unknown, then in sync, with every drift", () => {
    const page = renderStatusPage(input())
    expect(page).toContain("<h1>3 of 5 apps out of sync</h1>")
    const rows = appRows(page)
    expect(rows.map((r) => r.match(/class="app-name">([^<]+)</)?.[1])).toEqual(["batch-job", "legacy", "payments-api", "billing", "search"])
    const [batch, legacy, payments, billing, search] = rows.map(textOf)
    expect(batch).toContain("out of sync")
    expect(batch).toContain("1 / 2..4")
    expect(batch).toContain("replicas: 2..4 → 1")
    expect(legacy).toContain("– / 1")
    expect(legacy).toContain("app missing (404)")
    expect(payments).toContain("2 / 2")
    expect(payments).toContain("payments-1 status: running → stopped")
    expect(payments).toContain("payments-1 instance_type: tdx.large → tdx.medium")
    expect(payments).not.toContain("payments-0 status")
    expect(billing).toContain("unknown")
    expect(billing).toContain("rate_limited (HTTP 429): Rate limit exceeded")
    expect(search).toContain("in sync")
    expect(search).toContain("no drift")
    const stopped = rows[2]?.match(/<li title="([^"]+)"><span class="cvm-name">payments-1<\/span> <span class="badge tone-bad">stopped<\/span>/)
    expect(stopped?.[1]).toBe("vm_uuid 16d247ca-23f5-4ffa-b590-7f732eddbf51, health degraded, desired running")
    const text = textOf(page)
    expect(text).toContain("In sync 1")
    expect(text).toContain("Out of sync 3")
    expect(text).toContain("Unknown 1")
    expect(text).toContain("Drifts 4")
  })

  it("names the unknown count when nothing drifts but an app could not be observed", () => {
    const snapshot = mixedFleet()
    const page = renderStatusPage(input({ snapshot: { ...snapshot, apps: snapshot.apps.filter((a) => a.sync !== "out_of_sync") } }))
    expect(page).toContain("<h1>1 of 2 apps could not be observed</h1>")
  })

  it("marks old data as stale, in words", () => {
    const page = renderStatusPage(input({ now: new Date(GENERATED.getTime() + 31_000) }))
    expect(textOf(page)).toContain("stale Updated 31 s ago")
    const stale = (overrides: Partial<StatusPageInput>) => textOf(renderStatusPage(input(overrides))).includes("stale")
    expect(stale({ now: new Date(GENERATED.getTime() + 29_000) })).toBe(false)
    expect(stale({ now: new Date(GENERATED.getTime() + 31_000), staleAfterSeconds: 60 })).toBe(false)
    expect(stale({ now: new Date(GENERATED.getTime() + 3_600_000), staleAfterSeconds: null })).toBe(false)
  })

  it("lists firing and pending alerts separately when alerting is on", () => {
    const pending: PendingAlert = {
      ...alert(),
      fingerprint: "f2",
      name: "PhalaAppReplicasMismatch",
      labels: { alertname: "PhalaAppReplicasMismatch", severity: "warning", app_id: ids.batch, app_name: "batch-job", team: "data" },
      annotations: { summary: "batch-job has 1 CVM, want 2..4" },
      state: "pending",
      firedAt: null,
      announced: false,
      activeAt: NOW.getTime() - 30_000
    }
    const page = renderStatusPage(input({ alertingEnabled: true, alerts: [pending, alert()] }))
    const [, firing = "", pendingPart = ""] = page.split(/<h3 id="(?:firing|pending)-heading">/)
    expect(textOf(firing)).toContain("Firing alerts (1)")
    expect(textOf(firing)).toContain("PhalaCvmStatusDrift critical payments-api")
    expect(textOf(firing)).toContain("payments-1")
    expect(textOf(firing)).toContain("3 min ago")
    expect(firing).toContain("<time datetime=\"2026-11-28T15:57:12.000Z\"")
    expect(textOf(firing)).toContain("CVM payments-1 is stopped, want running")
    expect(textOf(pendingPart)).toContain("Pending alerts (1)")
    expect(textOf(pendingPart)).toContain("PhalaAppReplicasMismatch warning batch-job")
    expect(textOf(pendingPart)).toContain("30 s ago")
    expect(textOf(pendingPart)).toContain("team=data")
    expect(page).not.toContain("alerting is off")
    expect(page).not.toContain("silenced")
    const silenced = renderStatusPage(input({ alertingEnabled: true, alerts: [alert({ silenced: true })] }))
    expect(textOf(silenced)).toContain("PhalaCvmStatusDrift silenced (maintenance) critical")
  })

  it("says when no alerts fire, and when alerting is off", () => {
    const on = renderStatusPage(input({ alertingEnabled: true }))
    expect(on).toContain("No alerts firing.")
    expect(on).toContain("No alerts pending.")
    const off = renderStatusPage(input({ alertingEnabled: false, alerts: [alert()] }))
    expect(off).toContain("Built-in alerting is off")
    expect(off).not.toContain("PhalaCvmStatusDrift")
  })

  it("says loudly when state_dir cannot be written and how many notifications live in memory only", () => {
    const problem = {
      what: "outbox ops",
      path: "/var/lib/phala-drift/outbox/ops",
      error: "NotFound: FileSystem.makeDirectory (/var/lib/phala-drift/outbox/ops): ENOTDIR <b>",
      since: NOW.getTime() - 120_000,
      at: NOW.getTime() - 2_000
    }
    const failing: StateDirHealth = { ...healthyDir, writeFailures: 7, failing: [problem], lastFailure: problem, unsavedNotifications: 3 }
    const page = renderStatusPage(input({ alertingEnabled: true, stateDir: failing }))
    const notice = page.split("<main class=\"wrap\">")[1]?.split("<section aria-labelledby=\"apps-heading\">")[0] ?? ""
    expect(notice).toContain("role=\"alert\"")
    expect(textOf(notice)).toContain("State directory cannot be written")
    expect(textOf(notice)).toContain("outbox ops /var/lib/phala-drift/outbox/ops: NotFound: FileSystem.makeDirectory")
    expect(textOf(notice)).toContain("failing since 2 min ago")
    expect(textOf(notice)).toContain("3 notifications are held in memory only")
    expect(textOf(notice)).toContain("7 failed writes so far")
    expect(notice).toContain("ENOTDIR &lt;b&gt;")

    // once writes work again: a quiet note in the alerts section, no alarm
    const recovered = renderStatusPage(input({ alertingEnabled: true, stateDir: { ...failing, failing: [], unsavedNotifications: 0 } }))
    expect(recovered).not.toContain("role=\"alert\"")
    expect(textOf(recovered)).toContain("State directory /var/lib/phala-drift: 7 failed writes since start, the last 2 s ago; writing works again")
    // never a word about it while nothing failed
    expect(textOf(renderStatusPage(input({ alertingEnabled: true, stateDir: healthyDir })))).not.toContain("State directory")
  })

  it("escapes every string that comes from the API or the config, in text and in attributes", () => {
    const script = "<script>alert(1)</script>"
    const img = "\"><img src=x onerror=alert(1)>"
    const quote = "' onmouseover='alert(1)"
    const hostileApp = diffApp(
      desiredApp({ appId: ids.payments, name: script, labels: { team: img, [quote]: "x" }, cvm: { instance_type: "tdx.large" } }),
      Observation.found(observedApp([
        cvm({ name: img, vmUuid: `${quote}"`, status: script }),
        cvm({ name: "ok-1", vmUuid: "v2", instanceType: script })
      ], { appId: ids.payments }))
    )
    const hostileDesired = diffApp(desiredApp({ appId: ids.batch, name: null, cvm: { region: img } }), Observation.found(
      observedApp([cvm({ name: "b-0", region: script })], { appId: ids.batch, name: img })
    ))
    const failed = diffApp(
      desiredApp({ appId: ids.billing, name: "billing" }),
      Observation.failed(new FetchFailure({ appId: ids.billing, reason: "bad_response", status: null, message: `${script}${img}` }))
    )
    const page = renderStatusPage(input({
      snapshot: { generatedAt: GENERATED, apps: [hostileApp, hostileDesired, failed] },
      alertingEnabled: true,
      alerts: [alert({
        labels: { alertname: script, severity: img, app_name: script, app_id: img, cvm_name: quote, vm_uuid: img, [script]: img },
        annotations: { summary: script }
      })]
    }))
    expect(withoutScript(page)).not.toContain("<script")
    expect(page).not.toContain("<img")
    expect(page).not.toContain("onmouseover='")
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;")
    expect(page).toContain("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")
    expect(page).toContain("&#39; onmouseover=&#39;alert(1)")
    expect(page).toContain("<title>2 of 3 apps out of sync · phala-drift</title>")
    // every attribute value is a quoted string free of the characters that could end it
    for (const [, attr] of withoutScript(page).matchAll(/\s[a-z-]+="([^"]*)"/g)) expect(attr).not.toMatch(/[<>']/)
    const text = textOf(page)
    expect(text).toContain(`${script} ${ids.payments}`)
    expect(text).toContain(`${img} ${script}`)
    expect(text).toContain(`status: running → ${script}`)
    expect(text).toContain(`instance_type: tdx.large → ${script}`)
    expect(text).toContain(`region: ${img} → ${script}`)
    expect(text).toContain(`bad_response: ${script}${img}`)
    expect(text).toContain(`team=${img}`)
  })

  it("formats ages in readable units and never negative", () => {
    expect(formatAge(-5_000)).toBe("0 s ago")
    expect(formatAge(12_400)).toBe("12 s ago")
    expect(formatAge(125_000)).toBe("2 min ago")
    expect(formatAge(3 * 3_600_000)).toBe("3 h ago")
    expect(formatAge(72 * 3_600_000)).toBe("3 d ago")
  })
})

/** 10,000 apps: every 200th out of sync (CVM stopped), every 500th unknown, a few missing; the rest in sync. */
const bigFleet = (n = 10_000): Snapshot => ({
  generatedAt: GENERATED,
  apps: Array.from({ length: n }, (_, i) =>
    fleetApp(i, i % 500 === 3 ? "unknown" : i % 200 === 7 ? "stopped" : i % 2500 === 11 ? "missing" : "in_sync"))
})

const syncOfRows = (page: string) => appRows(page).map((r) => /^"row-(\w+)"/.exec(r)?.[1])

describe("renderStatusPage at fleet size", () => {
  it("keeps a 10,000-app page under 1 MB, problems first, a page at a time with links that work without JavaScript", () => {
    const snapshot = bigFleet()
    // with the daemon's timeline, as served: every row says when it was observed, problems since when
    const moments = advanceTimeline(null, snapshot).moments
    const page = renderStatusPage(input({ snapshot, page: 1, moments }))
    expect(Buffer.byteLength(page)).toBeLessThan(1_000_000)
    expect(page.match(/<span class="when">(?:observed |last observed |not observed)/g)).toHaveLength(appsPerPage)
    expect(page).toContain("<h1>54 of 10000 apps out of sync</h1>")
    const rows = syncOfRows(page)
    expect(rows).toHaveLength(appsPerPage)
    // 50 stopped and 4 missing, then 20 unknown, then in sync
    expect(rows.slice(0, 54).every((tone) => tone === "bad")).toBe(true)
    expect(rows.slice(54, 74).every((tone) => tone === "warn")).toBe(true)
    expect(rows.slice(74).every((tone) => tone === "ok")).toBe(true)
    expect(textOf(page)).toContain("Apps 1–100 of 10000. 74 apps need attention (out of sync first, then unknown), on page 1; 9926 apps are in sync.")
    expect(page).toContain("(apps 1–100 of 10000)</caption>")
    const nav = page.split("<nav class=\"pages\" aria-label=\"Pages of apps\">")[1]?.split("</nav>")[0] ?? ""
    expect(nav).toContain("<li aria-current=\"page\">Page 1 of 100</li>")
    expect(nav).toContain("<a href=\"?page=2\" rel=\"next\">Next ›</a>")
    expect(nav).toContain("<a href=\"?page=100\">Last »</a>")
    expect(nav).not.toContain("Previous")

    const last = renderStatusPage(input({ snapshot, page: 100 }))
    expect(Buffer.byteLength(last)).toBeLessThan(1_000_000)
    expect(syncOfRows(last).every((tone) => tone === "ok")).toBe(true)
    expect(last).toContain("<a href=\"?page=99\" rel=\"prev\">‹ Previous</a>")
    expect(last).not.toContain("rel=\"next\"")
    expect([...last.matchAll(/class="app-name">([^<]+)</g)].map((m) => m[1]).at(-1)).toBe("app-09999")
    // out of range or not a number: the nearest page
    expect(renderStatusPage(input({ snapshot, page: 7000 }))).toContain("Page 100 of 100")
    expect(renderStatusPage(input({ snapshot, page: Number.NaN }))).toContain("Page 1 of 100")
  })

  it("says where the problems are when they fill several pages, and links the full list when pages cannot be asked for", () => {
    const outage: Snapshot = { generatedAt: GENERATED, apps: Array.from({ length: 1000 }, (_, i) => fleetApp(i, i < 250 ? "unknown" : "in_sync")) }
    const page = renderStatusPage(input({ snapshot: outage, page: 2 }))
    expect(textOf(page)).toContain("Apps 101–200 of 1000. 250 apps need attention (out of sync first, then unknown), on pages 1–3; 750 apps are in sync.")
    expect(syncOfRows(page).every((tone) => tone === "warn")).toBe(true)
    // the route does not read ?page= yet: no links that would lead nowhere, the text plan instead
    const unpaged = renderStatusPage(input({ snapshot: outage }))
    expect(unpaged).not.toContain("<nav class=\"pages\"")
    expect(textOf(unpaged)).toContain("Apps 1–100 of 1000. 250 apps need attention (out of sync first, then unknown); 750 apps are in sync. The full list is in the text plan.")
    expect(unpaged).toContain("<a href=\"/api/v1/plan?format=text\">text plan</a>")
  })

  it("renders a snapshot's rows once, whatever the number of requests, and again for the next snapshot", () => {
    const snapshot = bigFleet(1000)
    const view = fleetViewOf(snapshot)
    expect(fleetViewOf(snapshot)).toBe(view)
    const first = renderStatusPage(input({ snapshot, page: 1 }))
    for (let i = 0; i < 5; i++) renderStatusPage(input({ snapshot, page: 1, now: new Date(NOW.getTime() + i * 1000) }))
    expect(view.rendered()).toBe(1)
    renderStatusPage(input({ snapshot, page: 3 }))
    renderStatusPage(input({ snapshot, page: 3 }))
    expect(view.rendered()).toBe(2)
    expect(renderStatusPage(input({ snapshot, page: 1 }))).toBe(first)

    // prepared at publish time and handed in: that view is used
    const next = bigFleet(1000)
    const prepared = prepareFleet(next)
    renderStatusPage(input({ snapshot: next, fleet: prepared, page: 1 }))
    expect(prepared.rendered()).toBe(1)
    expect(fleetViewOf(next)).not.toBe(view)
  })

  it("serves as bytes the same page, each page's apps section encoded once and taken as kept", () => {
    const snapshot: Snapshot = { ...bigFleet(1000), apps: bigFleet(1000).apps.map((app, i) => i === 3 ? { ...app, name: "<!--phala-drift:apps--> “ü”" } : app) }
    const moments = advanceTimeline(null, snapshot).moments
    const view = fleetViewOf(snapshot, moments)
    const decoder = new TextDecoder()
    const cases: ReadonlyArray<Partial<StatusPageInput>> = [
      { page: 1 },
      { page: 4 },
      {},
      { page: 2, filter: { ...noFilter, sync: "in_sync" } },
      { page: 1, filter: { ...noFilter, q: "no such app" } },
      { page: 1, alertingEnabled: true, alerts: [alert()] }
    ]
    for (const c of cases) {
      const served = renderStatusPageBytes(input({ snapshot, moments, ...c }))
      expect(decoder.decode(served)).toBe(renderStatusPage(input({ snapshot, moments, ...c })))
    }
    expect(decoder.decode(renderStatusPageBytes(input({ snapshot: null })))).toBe(renderStatusPage(input({ snapshot: null })))
    // the alerts case shows page 1 again: five sections
    const encoded = view.encoded()
    expect(encoded).toBe(5)
    // later requests: new clock, same sections
    for (let i = 0; i < 5; i++) renderStatusPageBytes(input({ snapshot, moments, page: 1, now: new Date(NOW.getTime() + i * 1000) }))
    expect(view.encoded()).toBe(encoded)
    expect(view.section(noFilter, 1, true)).toBe(view.section(noFilter, 1, true))
    // an app's name that looks like the slot is escaped: the page has one apps section
    const first = decoder.decode(renderStatusPageBytes(input({ snapshot, moments, page: 1 })))
    expect(first.match(/<section aria-labelledby="apps-heading">/g)).toHaveLength(1)
    expect(first).toContain("&lt;!--phala-drift:apps--&gt; “ü”")
  })

  it("lists at most a hundred alerts per table and says where the rest are", () => {
    const alerts = Array.from({ length: 250 }, (_, i) =>
      alert({ fingerprint: `f${i}`, activeAt: NOW.getTime() - (250 - i) * 1000, labels: { alertname: "PhalaCvmStatusDrift", severity: "critical", app_id: appIdOf(i), app_name: `app-${i}` } }))
    const page = renderStatusPage(input({ alertingEnabled: true, alerts }))
    const firing = page.split("<h3 id=\"firing-heading\">")[1]?.split("<h3 id=\"pending-heading\">")[0] ?? ""
    expect(textOf(firing)).toContain("Firing alerts (250)")
    expect(textOf(firing)).toContain("The 100 active longest are listed; all 250 are in /api/v1/alerts.")
    expect(firing.split("<tbody>")[1]?.match(/<tr>/g)).toHaveLength(alertsPerTable)
    expect(textOf(firing)).toContain("app-0 ")
    expect(textOf(firing)).not.toContain("app-100 ")
  })
})

const interval = (d: Duration.DurationInput): PollSchedule => ({ _tag: "Interval", interval: Duration.decode(d) })

describe("refresh interval", () => {
  it("follows the poll interval within 5..60 seconds", () => {
    expect(refreshSecondsFor(interval("1 second"))).toBe(5)
    expect(refreshSecondsFor(interval("15 seconds"))).toBe(15)
    expect(refreshSecondsFor(interval("1500 millis"))).toBe(5)
    expect(refreshSecondsFor(interval("10 minutes"))).toBe(60)
    expect(refreshSecondsFor({ _tag: "Cron", expression: "*/5 * * * *" })).toBe(30)
    expect(staleAfterSecondsFor(interval("1 second"))).toBe(15)
    expect(staleAfterSecondsFor(interval("10 minutes"))).toBe(1800)
    expect(staleAfterSecondsFor({ _tag: "Cron", expression: "*/5 * * * *" })).toBeNull()
  })
})

const config = (poll: PollSchedule): DaemonConfig => ({
  source: "test.yaml",
  api: { url: "http://127.0.0.1:1/api/v1", apiKey: Redacted.make("k"), apiVersion: "2025-10-28", timeout: Duration.seconds(5), retries: 0, concurrency: 1 },
  poll,
  server: { host: "127.0.0.1", port: 9477, lifecycle: false, auth: null, tls: null, phalaWebhook: null },
  stateDir: ".",
  apps: [],
  alerting: null
})

/** The route as the router runs it for `GET /?<query>`. */
const withQuery = (query: string) =>
  Effect.provideService(HttpServerRequest.ParsedSearchParams, HttpServerRequest.searchParamsFromURL(new URL(`http://drift.test/?${query}`)))

describe("statusPageRoute", () => {
  const layer = (alerts: Layer.Layer<AlertsView>) =>
    Layer.mergeAll(
      LatestSnapshot.Default,
      alerts,
      ConfigStore.fixed(config(interval("20 seconds")))
    )

  const bodyOf = (response: HttpServerResponse.HttpServerResponse) =>
    Effect.promise(() => HttpServerResponse.toWeb(response).text())

  it.effect("serves the page with no-store and a strict CSP, waiting before the first snapshot", () =>
    Effect.gen(function*() {
      const response = yield* statusPageRoute
      expect(response.status).toBe(200)
      const web = HttpServerResponse.toWeb(response)
      expect(web.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(web.headers.get("cache-control")).toBe("no-store")
      expect(web.headers.get("content-security-policy")).toBe(
        `default-src 'none'; script-src '${refreshScriptHash}'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`
      )
      // the hash in the policy is the script's: the browser runs it and nothing else
      expect(refreshScriptHash).toBe(`sha256-${createHash("sha256").update(refreshScript).digest("base64")}`)
      const body = yield* bodyOf(response)
      expect(body).toContain("<h1>Waiting for the first reconcile cycle</h1>")
      expect(body).toContain("<meta http-equiv=\"refresh\" content=\"20\">")
      expect(body).not.toContain("<form")
      expect(body).toContain("Built-in alerting is off")
    }).pipe(Effect.provide(layer(AlertsView.Disabled)), withQuery("")))

  it.effect("renders the published snapshot, its age from the clock, and active alerts", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW.getTime())
      yield* (yield* LatestSnapshot).publish(mixedFleet())
      const body = yield* bodyOf(yield* statusPageRoute)
      expect(body).toContain("<h1>3 of 5 apps out of sync</h1>")
      expect(body).toContain("Updated 12 s ago")
      expect(body).toContain("Firing alerts (1)")
    }).pipe(
      Effect.provide(layer(Layer.succeed(AlertsView, { enabled: Effect.succeed(true), active: Effect.succeed([alert()]), stateDir: healthy }))),
      withQuery("")
    ))
})

describe("renderStatusPage: push", () => {
  it("says when a Phala Cloud event last refreshed an app, on that app's row only", () => {
    const before: Snapshot = { generatedAt: new Date("2026-11-28T15:00:00.000Z"), apps: [fleetApp(1), fleetApp(2)] }
    const first = advanceTimeline(null, before)
    const after: Snapshot = { generatedAt: new Date("2026-11-28T15:00:42.000Z"), apps: [fleetApp(1, "stopped"), before.apps[1] ?? fleetApp(2)] }
    const timeline = advanceTimeline(first, after, appIdOf(1))
    const page = renderStatusPage(input({ snapshot: after, moments: timeline.moments, now: new Date("2026-11-28T15:00:43.000Z") }))
    const rows = appRows(page)
    const refreshed = rows.filter((row) => row.includes("refreshed by a Phala Cloud event"))
    expect(refreshed).toHaveLength(1)
    expect(refreshed[0]).toContain(`app-${appIdOf(1)}`)
    expect(refreshed[0]).toMatch(/refreshed by a Phala Cloud event <time datetime="2026-11-28T15:00:42(\.000)?Z"[^>]*>15:00:42 UTC<\/time>/)
  })
})
