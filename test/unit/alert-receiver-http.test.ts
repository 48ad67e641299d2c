import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, type Scope } from "effect"
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { gzipSync } from "node:zlib"
import type { Alert, AlertEvent } from "../../src/Core/Domain/Alert.js"
import { postToAlertmanagers, alertmanagerRound } from "../../src/Alerts/Receivers/AlertmanagerSender.js"
import { sendSlack, sendWebhook, type SlackSettings, type WebhookSettings } from "../../src/Alerts/Receivers/Notify.js"
import { verifySignature } from "../../src/Alerts/Receivers/Signature.js"
import { eventId } from "../../src/Alerts/Receivers/WebhookPayload.js"
import { captureLogs } from "../support/logs.js"

// ---- loopback receivers

interface Received {
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

type Answer = number | "hang" | ((res: ServerResponse) => void)

interface Loopback {
  readonly url: string
  readonly received: Array<Received>
}

const loopback = (answer: (index: number) => Answer): Effect.Effect<Loopback, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ server: ReturnType<typeof createServer>; loop: Loopback }>((resolve) => {
        const received: Array<Received> = []
        const server = createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (chunk: Buffer) => chunks.push(chunk))
          req.on("end", () => {
            const index = received.push({ url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() }) - 1
            const reply = answer(index)
            if (reply === "hang") return
            if (typeof reply === "function") return reply(res)
            res.writeHead(reply, { "content-type": "text/plain" }).end(`status ${reply}`)
          })
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resolve({ server, loop: { url: `http://127.0.0.1:${port}`, received } })
        })
      })
    ),
    ({ server }) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
      )
  ).pipe(Effect.map(({ loop }) => loop))

/** A URL nobody listens on: a port that was just released. */
const deadUrl: Effect.Effect<string> = Effect.scoped(Effect.map(loopback(() => 200), (loop) => loop.url))

const fast = { times: 3, base: Duration.millis(10), cap: Duration.millis(40) }

const alert: Alert = {
  fingerprint: "9c1b6e4f0a2d7e35",
  name: "PhalaAppReplicasMismatch",
  labels: { alertname: "PhalaAppReplicasMismatch", severity: "warning", app_id: "2a7b", app_name: "payments-api" },
  annotations: { summary: "2 replicas desired, 1 running" },
  state: "firing",
  activeAt: 1_000,
  firedAt: 2_000,
  lastActiveAt: 3_000,
  resolvedAt: null,
  silenced: false,
  announced: true
}
const event: AlertEvent = { kind: "firing", alert, at: 2_000 }

const hmacSecret = "hmac-secret-XYZ-0123456789"
const bearer = "bearer-token-ABC-0123456789"
const webhook = (url: string): WebhookSettings => ({
  _tag: "Webhook",
  name: "ops",
  url: Redacted.make(url),
  bearerToken: Redacted.make(bearer),
  hmacSecret: Redacted.make(hmacSecret),
  timeout: Duration.seconds(2)
})

describe("webhook sender", () => {
  it.scopedLive("retries 503 and then delivers a signed notification", () =>
    Effect.gen(function*() {
      const server = yield* loopback((i) => (i < 2 ? 503 : 200))
      yield* sendWebhook(webhook(`${server.url}/hook`), event, { externalUrl: null, retry: fast })
      expect(server.received).toHaveLength(3)
      const last = server.received[2]
      expect(last?.url).toBe("/hook")
      expect(last?.headers["content-type"]).toBe("application/json")
      expect(last?.headers["user-agent"]).toMatch(/^phala-drift\//)
      expect(last?.headers["authorization"]).toBe(`Bearer ${bearer}`)
      expect(last?.headers["x-phala-drift-event-id"]).toBe(eventId(event))
      // every attempt carries the same event id, so a receiver can drop duplicates
      expect(new Set(server.received.map((r) => r.headers["x-phala-drift-event-id"])).size).toBe(1)
      const timestamp = String(last?.headers["x-phala-drift-timestamp"])
      const signature = String(last?.headers["x-phala-drift-signature"])
      expect(verifySignature({ secret: hmacSecret, body: last?.body ?? "", timestamp, signature })).toBe(true)
      expect(JSON.parse(last?.body ?? "{}")).toMatchObject({ version: "4", status: "firing", receiver: "ops" })
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scopedLive("posts a readable Slack message, firing then resolved, over a real socket", () =>
    Effect.gen(function*() {
      const server = yield* loopback(() => 200)
      const slack: SlackSettings = { _tag: "Slack", name: "chat", webhookUrl: Redacted.make(`${server.url}/services/T/B/x`), timeout: Duration.seconds(2) }
      yield* sendSlack(slack, event, { externalUrl: "http://drift.example:9477", retry: fast })
      const resolvedEvent: AlertEvent = { kind: "resolved", alert: { ...alert, state: "resolved", resolvedAt: 4_000 }, at: 4_000 }
      yield* sendSlack(slack, resolvedEvent, { externalUrl: "http://drift.example:9477", retry: fast })
      expect(server.received.map((r) => r.url)).toEqual(["/services/T/B/x", "/services/T/B/x"])
      const [firing, resolved] = server.received.map((r) => JSON.parse(r.body) as { text: string; blocks: ReadonlyArray<unknown> })
      expect(firing?.text).toContain("[FIRING]")
      expect(firing?.text).toContain("PhalaAppReplicasMismatch")
      expect(firing?.text).toContain("payments-api")
      expect(firing?.blocks.length).toBeGreaterThan(0)
      expect(resolved?.text).toContain("[RESOLVED]")
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scopedLive("does not retry a 400 and reports it as permanent", () =>
    Effect.gen(function*() {
      const server = yield* loopback(() => 400)
      const error = yield* Effect.flip(sendWebhook(webhook(server.url), event, { externalUrl: null, retry: fast }))
      expect(server.received).toHaveLength(1)
      expect(error.transient).toBe(false)
      expect(error.status).toBe(400)
      expect(error.message).toBe("receiver ops: HTTP 400: status 400 after 1 attempt")
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scopedLive("gives up on a hanging receiver after the per-attempt timeout", () =>
    Effect.gen(function*() {
      const server = yield* loopback(() => "hang")
      const settings = { ...webhook(server.url), timeout: Duration.millis(100) }
      const error = yield* Effect.flip(
        sendWebhook(settings, event, { externalUrl: null, retry: { ...fast, times: 1 } })
      )
      expect(error.reason).toBe("timeout")
      expect(error.attempts).toBe(2)
      expect(server.received).toHaveLength(2)
    }).pipe(Effect.provide(FetchHttpClient.layer)))
})

/** Writes `chunk` forever (as fast as the client reads) until the client goes away; counts what it wrote. */
const endless = (status: number, headers: Record<string, string>, chunk: Buffer) => {
  const state = { written: 0, closed: false }
  const answer = (res: ServerResponse) => {
    res.writeHead(status, headers)
    res.on("close", () => { state.closed = true })
    const pump = () => {
      while (!res.destroyed) {
        state.written += chunk.length
        if (!res.write(chunk)) return void res.once("drain", pump)
      }
    }
    pump()
  }
  return { state, answer }
}

describe("receiver answers are not trusted", () => {
  // one gzip member inflating to 16 MiB, repeated without end: an unbounded gzip bomb
  const bombMember = gzipSync(Buffer.alloc(16 * 1024 * 1024))
  // loopback send and receive buffers plus the client's stream buffers hold a few MB before anyone reads them
  const socketBuffers = 32 * 1024 * 1024

  it.scopedLive("a 2xx gzip bomb is never read: delivered at once, the connection is dropped", () =>
    Effect.gen(function*() {
      const bomb = endless(200, { "content-type": "application/json", "content-encoding": "gzip" }, bombMember)
      const server = yield* loopback(() => bomb.answer)
      const settings = { ...webhook(server.url), timeout: Duration.seconds(1) }
      yield* sendWebhook(settings, event, { externalUrl: null, retry: { ...fast, times: 0 } })
      expect(server.received).toHaveLength(1)
      yield* Effect.promise(() => waitUntil(() => bomb.state.closed))
      // what fits in the socket buffers at most, not the endless stream
      expect(bomb.state.written).toBeLessThan(socketBuffers)
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scopedLive("an endless error body gives a short excerpt and the status; the rest is never read", () =>
    Effect.gen(function*() {
      const flood = endless(500, { "content-type": "text/plain" }, Buffer.from(`no_service ${bearer} ${"x".repeat(8_000)}\n`))
      const server = yield* loopback(() => flood.answer)
      const settings = { ...webhook(server.url), timeout: Duration.seconds(1) }
      const error = yield* Effect.flip(sendWebhook(settings, event, { externalUrl: null, retry: { ...fast, times: 0 } }))
      expect(error.reason).toBe("status")
      expect(error.status).toBe(500)
      expect(error.transient).toBe(true)
      expect(error.detail.startsWith("HTTP 500: no_service <redacted> xxx")).toBe(true)
      expect(error.detail.length).toBeLessThan(250)
      expect(error.message).not.toContain(bearer)
      yield* Effect.promise(() => waitUntil(() => flood.state.closed))
      expect(flood.state.written).toBeLessThan(socketBuffers)
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scopedLive("a receiver that echoes a credential in another letter case does not get it into the message", () =>
    Effect.gen(function*() {
      const server = yield* loopback(() => (res) => {
        res.writeHead(401, { "content-type": "text/plain" })
        res.end(`invalid token ${bearer.toUpperCase()} for ${server.url.toLowerCase()}`)
      })
      const error = yield* Effect.flip(sendWebhook(webhook(server.url), event, { externalUrl: null, retry: { ...fast, times: 0 } }))
      expect(error.detail).toBe("HTTP 401: invalid token <redacted> for <redacted>")
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scopedLive("a gzip bomb as an error body costs no more than its excerpt", () =>
    Effect.gen(function*() {
      const bomb = endless(400, { "content-type": "text/plain", "content-encoding": "gzip" }, bombMember)
      const server = yield* loopback(() => bomb.answer)
      const error = yield* Effect.flip(
        sendSlack({ _tag: "Slack", name: "chat", webhookUrl: Redacted.make(server.url), timeout: Duration.seconds(1) }, event, {
          externalUrl: null,
          retry: fast
        })
      )
      expect(error.reason).toBe("status")
      expect(error.transient).toBe(false)
      expect(error.message).toBe("receiver chat: HTTP 400 after 1 attempt")
      yield* Effect.promise(() => waitUntil(() => bomb.state.closed))
      expect(bomb.state.written).toBeLessThan(socketBuffers)
    }).pipe(Effect.provide(FetchHttpClient.layer)))
})

const waitUntil = async (condition: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe("secrets stay out of errors and logs", () => {
  const slackSecretPath = "/services/T0SECRET/B0SECRET/xoxbSuperSecretPath123"

  it.scopedLive("Slack URL, bearer token and HMAC secret appear in no error message or log line", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const rejecting = yield* loopback(() => 404)
      const down = yield* deadUrl
      const slack = (url: string): SlackSettings => ({
        _tag: "Slack",
        name: "chat",
        webhookUrl: Redacted.make(`${url}${slackSecretPath}`),
        timeout: Duration.seconds(1)
      })
      const errors = [
        yield* Effect.flip(sendSlack(slack(rejecting.url), event, { externalUrl: null, retry: fast })),
        yield* Effect.flip(sendSlack(slack(down), event, { externalUrl: null, retry: fast })),
        yield* Effect.flip(sendWebhook(webhook(`${down}/hook?token=${bearer}`), event, { externalUrl: null, retry: fast }))
      ]
      expect(rejecting.received[0]?.url).toBe(slackSecretPath)
      expect(errors.map((e) => e.reason)).toEqual(["status", "network", "network"])
      expect(errors[1]?.attempts).toBe(4)
      for (const error of errors) {
        yield* Effect.logError("notification failed").pipe(Effect.annotateLogs({ error: error.message }))
        yield* Effect.logError("with cause", error)
      }
      const everything = [...errors.map((e) => `${e.message} ${JSON.stringify(e)} ${String(e)}`), ...logs.lines]
        .join("\n")
      expect(logs.lines.length).toBeGreaterThan(0)
      for (const secret of ["T0SECRET", "xoxbSuperSecretPath123", bearer, hmacSecret]) {
        expect(everything).not.toContain(secret)
      }
      expect(errors[0]?.message).toContain("receiver chat")
      expect(errors[2]?.message).toContain("receiver ops")
    }).pipe(Effect.provide(Layer.merge(FetchHttpClient.layer, logs.layer)))
  })
})

describe("Alertmanager sender", () => {
  it.scopedLive("posts to every instance; one down instance does not block the other", () =>
    Effect.gen(function*() {
      const up = yield* loopback(() => 200)
      const down = yield* deadUrl
      const settings = { _tag: "Alertmanager" as const, name: "am", urls: [down, `${up.url}/`], timeout: Duration.seconds(1) }
      const options = {
        now: 10_000,
        pollInterval: Duration.seconds(30),
        resendInterval: Duration.minutes(1),
        externalUrl: "http://drift:9477",
        retry: fast
      }
      const results = yield* postToAlertmanagers(settings, [alert], options)
      expect(results.map((r) => [r.url, r.error?.reason ?? "ok"])).toEqual([[down, "network"], [`${up.url}/`, "ok"]])
      expect(up.received).toHaveLength(1)
      expect(up.received[0]?.url).toBe("/api/v2/alerts")
      expect(JSON.parse(up.received[0]?.body ?? "[]")).toEqual([{
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: new Date(2_000).toISOString(),
        endsAt: new Date(10_000 + 4 * 60_000).toISOString(),
        generatorURL: "http://drift:9477"
      }])

      // a round records the send when some instance took it, and then waits for the resend interval
      const alerts = new Map([[alert.fingerprint, alert]])
      const first = yield* alertmanagerRound(settings, alerts, new Map(), options)
      expect(first.sent).toHaveLength(1)
      expect(first.lastSent.get(alert.fingerprint)).toEqual({ at: 10_000, state: "firing" })
      const second = yield* alertmanagerRound(settings, alerts, first.lastSent, { ...options, now: 20_000 })
      expect(second.sent).toHaveLength(0)
      expect(up.received).toHaveLength(2)
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scopedLive("records nothing when no instance accepted, so the next round tries again", () =>
    Effect.gen(function*() {
      const failing = yield* loopback(() => 500)
      const settings = { _tag: "Alertmanager" as const, name: "am", urls: [failing.url], timeout: Duration.seconds(1) }
      const round = yield* alertmanagerRound(settings, new Map([[alert.fingerprint, alert]]), new Map(), {
        now: 10_000,
        pollInterval: Duration.seconds(30),
        resendInterval: Duration.minutes(1),
        externalUrl: null,
        retry: { ...fast, times: 1 }
      })
      expect(failing.received).toHaveLength(2)
      expect(round.sent).toHaveLength(0)
      expect(round.lastSent.size).toBe(0)
    }).pipe(Effect.provide(FetchHttpClient.layer)))
})
