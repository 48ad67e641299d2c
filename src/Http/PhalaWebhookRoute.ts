import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Clock, Effect, Either, Redacted } from "effect"
import type { PhalaWebhookSettings } from "../Core/Domain/App.js"
import { decodeEvent, maxBodyBytes, verify } from "../Core/PhalaWebhook.js"
import { WebhookInbox } from "../Runtime/WebhookInbox.js"
import { readStreamBounded } from "../Support/BoundedStream.js"

const noStore = { "cache-control": "no-store" }

const answer = (status: number, body: Record<string, string>) => HttpServerResponse.unsafeJson(body, { status, headers: noStore })

/**
 * `POST {server.phala_webhook.path}`: Phala Cloud's signed workspace webhook. Refusals (413 too large, 401 bad
 * signature or stale timestamp, 400 not an event) change nothing but a counter; the body is read through a bounded
 * reader and its signature checked before anything in it is looked at.
 */
export const phalaWebhookRoute = (settings: PhalaWebhookSettings) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const webhooks = yield* WebhookInbox
    if (request.method !== "POST") {
      return HttpServerResponse.text("method not allowed\n", { status: 405, headers: { allow: "POST" } })
    }
    const receivedAt = yield* Clock.currentTimeMillis
    const declared = request.headers["content-length"]
    const body = declared !== undefined && /^\d+$/.test(declared) && Number(declared) > maxBodyBytes
      ? null
      : yield* readStreamBounded(request.stream, maxBodyBytes)
    if (body === null) {
      yield* webhooks.count(null, "too_large")
      return answer(413, { error: `body larger than ${maxBodyBytes / 1024} KiB` })
    }
    const verdict = verify({
      secret: Redacted.value(settings.secret),
      body,
      timestamp: request.headers["x-webhook-timestamp"],
      signature: request.headers["x-webhook-signature"],
      nowMs: receivedAt
    })
    if (verdict !== "ok") {
      yield* webhooks.count(null, verdict)
      return answer(401, { error: verdict === "stale" ? "timestamp more than 5 minutes off" : "bad or missing signature" })
    }
    const event = decodeEvent(new TextDecoder().decode(body))
    if (Either.isLeft(event)) {
      yield* webhooks.count(null, "invalid")
      return answer(400, { error: "not a Phala Cloud webhook event" })
    }
    const result = yield* webhooks.receive(event.right, receivedAt)
    return result === "duplicate"
      ? answer(200, { status: "duplicate" })
      : answer(202, { status: result })
  })
