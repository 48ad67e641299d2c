import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import { resolveExternalUrl } from "../../src/Core/Alerting/Annotations.js"
import { fingerprint } from "../../src/Core/Alerting/Fingerprint.js"
import { inMaintenance, routeAlert } from "../../src/Core/Alerting/Routing.js"
import type { AlertingSettings } from "../../src/Core/Domain/Alert.js"
import { desiredApp } from "../support/builders.js"

const settings: AlertingSettings = {
  resendInterval: Duration.minutes(1),
  receivers: [],
  defaultReceivers: ["am"],
  routes: [
    { match: { severity: "critical", team: "payments" }, receivers: ["am", "chat"] },
    { match: { severity: "critical" }, receivers: ["pager"] },
    { match: {}, receivers: ["catch-all"] }
  ],
  externalUrl: null
}

describe("routeAlert", () => {
  it("the first route whose match labels all equal the alert's wins", () => {
    expect(routeAlert({ labels: { severity: "critical", team: "payments" } }, settings)).toEqual(["am", "chat"])
    expect(routeAlert({ labels: { severity: "critical", team: "core" } }, settings)).toEqual(["pager"])
    expect(routeAlert({ labels: { severity: "warning" } }, settings)).toEqual(["catch-all"])
  })

  it("no matching route → default_receivers", () => {
    const noCatchAll = { ...settings, routes: settings.routes.slice(0, 2) }
    expect(routeAlert({ labels: { severity: "warning", team: "payments" } }, noCatchAll)).toEqual(["am"])
    expect(routeAlert({ labels: {} }, { ...settings, routes: [] })).toEqual(["am"])
  })
})

describe("inMaintenance", () => {
  const app = desiredApp({
    maintenance: [{ start: new Date("2026-12-01T02:00:00Z"), end: new Date("2026-12-01T04:00:00Z") }]
  })
  it("start is inclusive, end exclusive", () => {
    expect(inMaintenance(app, Date.parse("2026-12-01T01:59:59.999Z"))).toBe(false)
    expect(inMaintenance(app, Date.parse("2026-12-01T02:00:00Z"))).toBe(true)
    expect(inMaintenance(app, Date.parse("2026-12-01T03:59:59.999Z"))).toBe(true)
    expect(inMaintenance(app, Date.parse("2026-12-01T04:00:00Z"))).toBe(false)
    expect(inMaintenance(desiredApp(), Date.parse("2026-12-01T03:00:00Z"))).toBe(false)
  })
})

describe("fingerprint", () => {
  it("is 16 hex digits, independent of label order, and changes with any label", () => {
    const a = fingerprint({ alertname: "PhalaAppMissing", app_id: "x", severity: "warning" })
    expect(a).toMatch(/^[0-9a-f]{16}$/)
    expect(fingerprint({ severity: "warning", app_id: "x", alertname: "PhalaAppMissing" })).toBe(a)
    expect(fingerprint({ alertname: "PhalaAppMissing", app_id: "x", severity: "critical" })).not.toBe(a)
    expect(fingerprint({ a: "b,c" })).not.toBe(fingerprint({ "a,b": "c" }))
  })
})

describe("resolveExternalUrl", () => {
  it("uses external_url, else the listen address with a wildcard host shown as localhost", () => {
    expect(resolveExternalUrl("https://drift.example/", { host: "0.0.0.0", port: 9477 })).toBe("https://drift.example")
    expect(resolveExternalUrl(null, { host: "0.0.0.0", port: 9477 })).toBe("http://localhost:9477")
    expect(resolveExternalUrl(null, { host: "10.0.0.5", port: 80 })).toBe("http://10.0.0.5:80")
    expect(resolveExternalUrl(null, { host: "::1", port: 9000 })).toBe("http://[::1]:9000")
  })
})
