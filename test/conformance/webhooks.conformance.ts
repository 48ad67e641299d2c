/**
 * Webhooks judged by the official SDK (`@phala/cloud/webhook`): every event the simulator sends passes the SDK's
 * `parseWebhookEvent`, and `serve`'s `POST /hooks/phala` accepts exactly the requests the SDK's
 * `verifyWebhookSignature` accepts (one table of cases for both).
 */
import { parseWebhookEvent, verifyWebhookSignature } from "@phala/cloud/webhook"
import { Effect, Logger, LogLevel, Redacted } from "effect"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sign } from "../../src/Core/PhalaWebhook.js"
import { type Simulator, startSimulator, stopAll, tempDir, waitFor, writeTemp } from "../e2e/support/harness.js"
import { serveRoutes } from "../support/http-routes.js"

const SECRET = "whsec_conformance_3e91aa"
const APP = "d000000000000000000000000000000000000001"
const CVM_0 = "00000000-0000-4000-8000-00000000d101"
const CVM_NEW = "00000000-0000-4000-8000-00000000d1ff"

interface Received {
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

const received: Array<Received> = []
const receiver = createServer((request, response) => {
  const chunks: Array<Buffer> = []
  request.on("data", (c: Buffer) => chunks.push(c))
  request.on("end", () => {
    received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") })
    response.writeHead(202).end()
  })
})
let sim: Simulator

beforeAll(async () => {
  await new Promise<void>((done) => receiver.listen(0, "127.0.0.1", done))
  const { port } = receiver.address() as AddressInfo
  const scenario = `webhooks:
  - { url: "http://127.0.0.1:${port}/hooks/phala", secret: ${SECRET} }
apps:
  - app_id: ${APP}
    name: hooked
    cvms:
      - { vm_uuid: ${CVM_0}, name: hooked-0, status: running }
`
  sim = await startSimulator(writeTemp("scenario.yaml", scenario, tempDir("phala-drift-conformance-")))
})

afterAll(async () => {
  await stopAll()
  await new Promise((done) => receiver.close(done))
})

const admin = async (method: string, path: string, body?: unknown) => {
  const response = await sim.admin(method, `/_sim/apps/${APP}${path}`, body)
  expect(response.status).toBeLessThan(300)
}

describe("the simulator's webhooks", () => {
  it("every lifecycle event it sends passes the SDK's parseWebhookEvent", async () => {
    await admin("PUT", `/cvms/${CVM_0}/status`, { status: "stopped" })
    await admin("PUT", `/cvms/${CVM_0}/status`, { status: "running" })
    await admin("PUT", `/cvms/${CVM_0}/status`, { status: "restarting" })
    await admin("PUT", `/cvms/${CVM_0}/status`, { status: "running" })
    await admin("POST", "/cvms", { vm_uuid: CVM_NEW, name: "hooked-1", status: "running" })
    await admin("DELETE", `/cvms/${CVM_NEW}`)
    const wanted = ["cvm.stopped", "cvm.started", "cvm.restarted", "cvm.created", "cvm.deleted"]
    await waitFor("the events", async () => (received.length >= wanted.length ? true : undefined), 30_000, 50)
    const events = received.map(({ body, headers }) =>
      parseWebhookEvent<{ app_id: string; cvm_id: string; status: string }>({ headers, body, secret: SECRET })
    )
    expect([...new Set(events.map((e) => e.event))].sort()).toEqual([...wanted].sort())
    for (const [i, event] of events.entries()) {
      expect(event.version).toBe("1")
      expect(event.id).toMatch(/^evt_/)
      expect(event.data.app_id).toBe(`app_${APP}`)
      expect(received[i]?.headers["x-webhook-id"]).toBe(event.id)
      expect(received[i]?.headers["x-webhook-event"]).toBe(event.event)
      expect(received[i]?.headers["user-agent"]).toBe("PhalaCloud-Webhook/1.0")
    }
    // the SDK refuses them under another secret: the signature really is checked
    const first = received[0]
    expect(first).toBeDefined()
    if (first !== undefined) expect(() => parseWebhookEvent({ headers: first.headers, body: first.body, secret: "whsec_other" })).toThrow()
  })
})

const body = (id: string) =>
  JSON.stringify({
    id,
    event: "cvm.stopped",
    version: "1",
    created_at: new Date().toISOString(),
    workspace: { id: "ws_c", name: "c" },
    data: { cvm_id: CVM_0, cvm_name: "hooked-0", app_id: `app_${APP}`, status: "stopped" }
  })

interface Case {
  readonly name: string
  readonly signedWith: string
  readonly ageSeconds: number
  /** The body sent; the signature is over `body(id)`. */
  readonly alter: (text: string) => string
}

const cases: ReadonlyArray<Case> = [
  { name: "as Phala Cloud signs it", signedWith: SECRET, ageSeconds: 0, alter: (t) => t },
  { name: "4 minutes old", signedWith: SECRET, ageSeconds: 240, alter: (t) => t },
  { name: "wrong secret", signedWith: "whsec_wrong", ageSeconds: 0, alter: (t) => t },
  { name: "stale timestamp", signedWith: SECRET, ageSeconds: 400, alter: (t) => t },
  { name: "altered body", signedWith: SECRET, ageSeconds: 0, alter: (t) => t.replace("stopped", "running") }
]

describe("POST /hooks/phala agrees with the SDK's verifyWebhookSignature", () => {
  it("accepts what the SDK accepts and refuses what it refuses", async () => {
    const results = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const served = yield* serveRoutes({ phalaWebhook: { path: "/hooks/phala", secret: Redacted.make(SECRET) } }, undefined, [APP])
      const rows: Array<{ name: string; sdk: boolean; status: number }> = []
      for (const [i, c] of cases.entries()) {
        const signed = body(`evt_case_${i}`)
        const sent = c.alter(signed)
        const timestamp = String(Math.floor(Date.now() / 1000) - c.ageSeconds)
        const signature = sign(c.signedWith, timestamp, signed)
        const sdk = verifyWebhookSignature({ secret: SECRET, timestamp, body: sent, signature })
        const status = yield* Effect.promise(async () => {
          const response = await fetch(`${served.base}/hooks/phala`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-webhook-timestamp": timestamp, "x-webhook-signature": signature },
            body: sent
          })
          await response.arrayBuffer()
          return response.status
        })
        rows.push({ name: c.name, sdk, status })
      }
      return rows
    })).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Warning))))
    expect(results.map((r) => [r.name, r.sdk])).toEqual([
      ["as Phala Cloud signs it", true],
      ["4 minutes old", true],
      ["wrong secret", false],
      ["stale timestamp", false],
      ["altered body", false]
    ])
    for (const r of results) expect([r.name, r.status]).toEqual([r.name, r.sdk ? 202 : 401])
  })
})
