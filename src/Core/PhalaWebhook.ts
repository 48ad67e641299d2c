import { createHmac, timingSafeEqual } from "node:crypto"
import { Schema } from "effect"

/** Phala Cloud's CVM lifecycle events (reference §8); other event names are accepted and ignored. */
export const cvmEvents = ["cvm.created", "cvm.started", "cvm.stopped", "cvm.restarted", "cvm.deleted"] as const

/** Timestamps further than this from our clock are refused, as Phala Cloud's SDKs do. */
export const toleranceSeconds = 300

/** Largest body `POST {path}` reads; a Phala Cloud event is well under 1 KiB. */
export const maxBodyBytes = 64 * 1024

/** `sha256=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>`, the `X-Webhook-Signature` header. */
export const sign = (secret: string, timestamp: string, body: Uint8Array | string): string =>
  "sha256=" + createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex")

export type Verdict = "ok" | "bad_signature" | "stale"

/**
 * Checks the signature in constant time (compared as equal-length digests, so the time taken reveals no matching
 * prefix), then the timestamp (Unix seconds) against `nowMs`. A missing header is a bad signature.
 */
export const verify = (options: {
  readonly secret: string
  readonly body: Uint8Array
  readonly timestamp: string | undefined
  readonly signature: string | undefined
  readonly nowMs: number
}): Verdict => {
  const { body, nowMs, secret, signature, timestamp } = options
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return "bad_signature"
  const expected = Buffer.from(sign(secret, timestamp, body), "utf8")
  const given = Buffer.from(signature.trim(), "utf8")
  const same = given.length === expected.length ? timingSafeEqual(given, expected) : (timingSafeEqual(expected, expected), false)
  if (!same) return "bad_signature"
  return Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds ? "stale" : "ok"
}

/** The body Phala Cloud posts; only what the daemon uses is required, the rest passes. */
export const WebhookEvent = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
  event: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  version: Schema.optional(Schema.String),
  created_at: Schema.optional(Schema.String),
  workspace: Schema.optional(Schema.Unknown),
  data: Schema.Struct({
    cvm_id: Schema.optional(Schema.NullOr(Schema.String)),
    cvm_name: Schema.optional(Schema.NullOr(Schema.String)),
    app_id: Schema.optional(Schema.NullOr(Schema.String)),
    status: Schema.optional(Schema.NullOr(Schema.String))
  })
})
export type WebhookEvent = typeof WebhookEvent.Type

export const decodeEvent = Schema.decodeUnknownEither(Schema.parseJson(WebhookEvent))

/** The `event` label of `phala_drift_webhook_events_total`: a closed set, so a sender cannot grow the series. */
export const eventLabel = (event: string | null): string =>
  event === null ? "unparsed" : (cvmEvents as ReadonlyArray<string>).includes(event) ? event : "other"
