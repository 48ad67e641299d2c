import { describe, expect, it } from "@effect/vitest"
import { Duration, Redacted } from "effect"
import { createHmac } from "node:crypto"
import type { AlertEvent, FiringAlert, PendingAlert, ResolvedAlert } from "../../src/Core/Domain/Alert.js"
import { alertmanagerPayload, leaseDuration } from "../../src/Alerts/Receivers/AlertmanagerPayload.js"
import { alertsDue, recordSent, type SentRecord } from "../../src/Core/Alerting/Resend.js"
import { webhookHeaders, type WebhookSettings } from "../../src/Alerts/Receivers/Notify.js"
import { sign, verifySignature } from "../../src/Alerts/Receivers/Signature.js"
import { escapeSlack, slackMessage } from "../../src/Alerts/Receivers/SlackPayload.js"
import { eventId, webhookPayload, zeroTime } from "../../src/Alerts/Receivers/WebhookPayload.js"
import { userAgent } from "../../src/Support/Version.js"

const t0 = Date.parse("2026-11-28T16:00:00.000Z")
const minute = 60_000

const alert = (overrides: Partial<FiringAlert> = {}): FiringAlert => ({
  fingerprint: "9c1b6e4f0a2d7e35",
  name: "PhalaCvmStatusDrift",
  labels: {
    alertname: "PhalaCvmStatusDrift",
    severity: "critical",
    app_id: "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4",
    app_name: "payments-api",
    team: "payments",
    vm_uuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51",
    cvm_name: "payments-api-replica-1"
  },
  annotations: {
    summary: "CVM payments-api-replica-1 of payments-api is stopped",
    description: "desired running, actual stopped",
    desired: "running",
    actual: "stopped",
    plan_url: "http://phala-drift:9477/api/v1/plan?format=text"
  },
  state: "firing",
  activeAt: t0 - 3 * minute,
  firedAt: t0 - minute,
  lastActiveAt: t0,
  resolvedAt: null,
  silenced: false,
  announced: true,
  ...overrides
})

const resolved = (overrides: Partial<ResolvedAlert> = {}): ResolvedAlert =>
  ({ ...alert(), state: "resolved", resolvedAt: t0 + 5 * minute, ...overrides })

const pending = (overrides: Partial<PendingAlert> = {}): PendingAlert =>
  ({ ...alert(), state: "pending", firedAt: null, announced: false, ...overrides })

describe("Alertmanager v2 payload", () => {
  const options = {
    now: t0,
    pollInterval: Duration.seconds(30),
    resendInterval: Duration.minutes(1),
    externalUrl: "http://drift.example:9477"
  }

  it("sends firing alerts with an endsAt lease of 4 × max(poll, resend), never pending ones", () => {
    const payload = alertmanagerPayload(
      [alert(), pending({ fingerprint: "p" })],
      options
    )
    expect(payload).toEqual([{
      labels: alert().labels,
      annotations: alert().annotations,
      startsAt: "2026-11-28T15:59:00.000Z",
      endsAt: "2026-11-28T16:04:00.000Z",
      generatorURL: "http://phala-drift:9477/api/v1/plan?format=text"
    }])
    expect(Duration.toMillis(leaseDuration(Duration.minutes(2), Duration.minutes(1)))).toBe(8 * minute)
  })

  it("ends resolved alerts at resolvedAt and falls back to the external URL and alertname", () => {
    const { plan_url: _, ...annotations } = alert().annotations
    const { alertname: __, ...labels } = alert().labels
    const [sent] = alertmanagerPayload([resolved({ annotations, labels })], options)
    expect(sent?.endsAt).toBe("2026-11-28T16:05:00.000Z")
    expect(sent?.startsAt).toBe("2026-11-28T15:59:00.000Z")
    expect(sent?.generatorURL).toBe("http://drift.example:9477")
    expect(sent?.labels["alertname"]).toBe("PhalaCvmStatusDrift")
  })

  it("omits generatorURL when there is nothing to point at", () => {
    const { plan_url: _, ...annotations } = alert().annotations
    const [sent] = alertmanagerPayload([alert({ annotations })], { ...options, externalUrl: null })
    expect(sent === undefined ? "missing" : "generatorURL" in sent).toBe(false)
  })
})

describe("Alertmanager resend decisions", () => {
  const options = { now: t0, resendInterval: Duration.minutes(1) }
  const sent = (at: number, state: SentRecord["state"]) => new Map([["9c1b6e4f0a2d7e35", { at, state }]])

  it("sends a never-sent firing alert at once and repeats it every resendInterval", () => {
    expect(alertsDue([alert()], new Map(), options)).toHaveLength(1)
    expect(alertsDue([alert()], sent(t0 - 30_000, "firing"), options)).toHaveLength(0)
    expect(alertsDue([alert()], sent(t0 - minute, "firing"), options)).toHaveLength(1)
  })

  it("never sends pending alerts, nor firing ones never announced (held back by maintenance)", () => {
    expect(alertsDue([pending()], new Map(), options)).toHaveLength(0)
    expect(alertsDue([alert({ announced: false, silenced: true })], new Map(), options)).toHaveLength(0)
    // announced before the window began: Alertmanager's lease must not run out meanwhile
    expect(alertsDue([alert({ silenced: true })], sent(t0 - minute, "firing"), options)).toHaveLength(1)
  })

  it("sends a state change immediately, even inside the resend interval", () => {
    const justResolved = resolved({ resolvedAt: t0 })
    expect(alertsDue([justResolved], sent(t0 - 1000, "firing"), options)).toHaveLength(1)
  })

  it("re-sends resolved alerts on the same cadence until 15 minutes after resolution", () => {
    const r = resolved({ resolvedAt: t0 - 10 * minute })
    expect(alertsDue([r], sent(t0 - 2 * minute, "resolved"), options)).toHaveLength(1)
    expect(alertsDue([r], sent(t0 - 30_000, "resolved"), options)).toHaveLength(0)
    const old = resolved({ resolvedAt: t0 - 16 * minute })
    expect(alertsDue([old], sent(t0 - 2 * minute, "resolved"), options)).toHaveLength(0)
    // the daemon was down when it resolved: Alertmanager still has to hear it once
    expect(alertsDue([old], sent(t0 - 20 * minute, "firing"), options)).toHaveLength(1)
  })

  it("records what was sent and forgets alerts that are gone", () => {
    const current = new Map([["9c1b6e4f0a2d7e35", alert()]])
    const before = new Map([["gone", { at: 1, state: "firing" as const }]])
    const after = recordSent(before, [alert()], current, t0)
    expect([...after.entries()]).toEqual([["9c1b6e4f0a2d7e35", { at: t0, state: "firing" }]])
  })
})

const firingEvent: AlertEvent = { kind: "firing", alert: alert(), at: t0 - minute }
const resolvedEvent: AlertEvent = { kind: "resolved", alert: resolved(), at: t0 + 5 * minute }

describe("webhook payload (Alertmanager webhook format, version 4)", () => {
  it("has the Alertmanager webhook fields with one alert per state change", () => {
    const payload = webhookPayload(firingEvent, { receiver: "ops", externalUrl: "http://drift.example:9477" })
    expect(payload).toEqual({
      version: "4",
      groupKey: "{}:{alertname=\"PhalaCvmStatusDrift\", app_id=\"2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4\", "
        + "vm_uuid=\"16d247ca-23f5-4ffa-b590-7f732eddbf51\"}",
      truncatedAlerts: 0,
      status: "firing",
      receiver: "ops",
      groupLabels: {
        alertname: "PhalaCvmStatusDrift",
        app_id: "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4",
        vm_uuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51"
      },
      commonLabels: alert().labels,
      commonAnnotations: alert().annotations,
      externalURL: "http://drift.example:9477",
      alerts: [{
        status: "firing",
        labels: alert().labels,
        annotations: alert().annotations,
        startsAt: "2026-11-28T15:59:00.000Z",
        endsAt: zeroTime,
        generatorURL: "http://phala-drift:9477/api/v1/plan?format=text",
        fingerprint: "9c1b6e4f0a2d7e35"
      }]
    })
    expect(zeroTime).toBe("0001-01-01T00:00:00Z")
  })

  it("marks a resolution with its end time", () => {
    const payload = webhookPayload(resolvedEvent, { receiver: "ops", externalUrl: null })
    expect(payload.status).toBe("resolved")
    expect(payload.externalURL).toBe("")
    expect(payload.alerts[0]?.status).toBe("resolved")
    expect(payload.alerts[0]?.endsAt).toBe("2026-11-28T16:05:00.000Z")
  })

  it("gives each state change a stable, distinct event id", () => {
    expect(eventId(firingEvent)).toBe(eventId({ ...firingEvent, alert: { ...firingEvent.alert } }))
    expect(eventId(firingEvent)).not.toBe(eventId(resolvedEvent))
    // one episode, one id: announced later (maintenance), with a newer description, after a restart
    const sameEpisode = { ...firingEvent.alert, annotations: { summary: "changed" }, lastActiveAt: firingEvent.at + 60_000 }
    expect(eventId({ ...firingEvent, alert: sameEpisode, at: firingEvent.at + 60_000 })).toBe(eventId(firingEvent))
    // the next episode of the same alert is a new notification
    const nextEpisode = { ...firingEvent.alert, activeAt: firingEvent.alert.activeAt + 3_600_000 }
    expect(eventId({ ...firingEvent, alert: nextEpisode })).not.toBe(eventId(firingEvent))
    expect(eventId(firingEvent)).toMatch(/^[0-9a-f]{32}$/)
  })
})

describe("webhook headers and HMAC signature", () => {
  const secret = "hmac-s3cret-value-0123456789"
  const settings: WebhookSettings = {
    _tag: "Webhook",
    name: "ops",
    url: Redacted.make("https://hooks.example.com/phala"),
    bearerToken: Redacted.make("tok-abcdef-123456"),
    hmacSecret: Redacted.make(secret),
    timeout: Duration.seconds(5)
  }
  const body = JSON.stringify(webhookPayload(firingEvent, { receiver: "ops", externalUrl: null }))

  it("sets content type, user agent, bearer token, event id, timestamp and signature", () => {
    const headers = webhookHeaders(settings, body, eventId(firingEvent), 1_800_000_000)
    expect(headers).toEqual({
      "Content-Type": "application/json",
      "User-Agent": userAgent,
      Authorization: "Bearer tok-abcdef-123456",
      "X-Phala-Drift-Event-Id": eventId(firingEvent),
      "X-Phala-Drift-Timestamp": "1800000000",
      "X-Phala-Drift-Signature": sign(secret, 1_800_000_000, body)
    })
    expect(userAgent).toMatch(/^phala-drift\/\d+\.\d+\.\d+/)
  })

  it("signs sha256=HMAC(secret, timestamp.body), checked by verifySignature and by hand", () => {
    const headers = webhookHeaders(settings, body, "id", 1_800_000_000)
    const signature = headers["X-Phala-Drift-Signature"] ?? ""
    const byHand = createHmac("sha256", secret).update(`1800000000.${body}`).digest("hex")
    expect(signature).toBe(`sha256=${byHand}`)
    expect(verifySignature({ secret, body, timestamp: "1800000000", signature })).toBe(true)
    expect(verifySignature({ secret: Redacted.make(secret), body, timestamp: "1800000000", signature })).toBe(true)
    expect(verifySignature({ secret, body: `${body} `, timestamp: "1800000000", signature })).toBe(false)
    expect(verifySignature({ secret: "other-secret", body, timestamp: "1800000000", signature })).toBe(false)
    expect(verifySignature({ secret, body, timestamp: "1800000001", signature })).toBe(false)
    expect(verifySignature({ secret, body, timestamp: "1800000000", signature: "sha256=00" })).toBe(false)
  })

  it("rejects stale timestamps when a tolerance is given", () => {
    const signature = sign(secret, 1_800_000_000, body)
    const input = { secret, body, timestamp: "1800000000", signature, toleranceSeconds: 300 }
    expect(verifySignature({ ...input, nowSeconds: 1_800_000_100 })).toBe(true)
    expect(verifySignature({ ...input, nowSeconds: 1_800_000_301 })).toBe(false)
  })

  it("leaves out what is not configured", () => {
    const headers = webhookHeaders({ ...settings, bearerToken: null, hmacSecret: null }, body, "id", 1)
    expect(Object.keys(headers).sort()).toEqual(["Content-Type", "User-Agent", "X-Phala-Drift-Event-Id"])
  })
})

describe("Slack message", () => {
  it("reads as a firing notice with app, CVM, desired vs actual, severity and a plan link", () => {
    const message = slackMessage(firingEvent, { externalUrl: null })
    expect(message.text).toBe(
      ":rotating_light: [FIRING] PhalaCvmStatusDrift — payments-api <http://phala-drift:9477/api/v1/plan?format=text|View plan>"
    )
    const section = message.blocks[0]
    expect(section?.type).toBe("section")
    const fields = section?.type === "section" ? (section.fields ?? []).map((field) => field.text) : []
    expect(fields).toEqual([
      "*App*\npayments-api (2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4)",
      "*CVM*\npayments-api-replica-1 (16d247ca-23f5-4ffa-b590-7f732eddbf51)",
      "*Desired*\nrunning",
      "*Actual*\nstopped",
      "*Severity*\ncritical"
    ])
  })

  it("says resolved with a check mark", () => {
    expect(slackMessage(resolvedEvent, { externalUrl: null }).text).toMatch(
      /^:white_check_mark: \[RESOLVED\] PhalaCvmStatusDrift — payments-api /
    )
  })

  it("escapes &, < and > coming from the API so they cannot become links or mentions", () => {
    expect(escapeSlack("a & <b> <!channel>")).toBe("a &amp; &lt;b&gt; &lt;!channel&gt;")
    const hostile = alert({
      labels: { ...alert().labels, app_name: "<https://evil.example|click> & co" },
      annotations: { ...alert().annotations, actual: "<!channel>" }
    })
    const message = slackMessage({ kind: "firing", alert: hostile, at: t0 }, { externalUrl: null })
    const everything = JSON.stringify(message)
    expect(everything).not.toContain("<https://evil.example")
    expect(everything).not.toContain("<!channel>")
    expect(message.text).toContain("&lt;https://evil.example|click&gt; &amp; co")
  })
})
