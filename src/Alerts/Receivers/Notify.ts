import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, Redacted } from "effect"
import type { AlertEvent, ReceiverSettings } from "../../Core/Domain/Alert.js"
import { userAgent } from "../../Support/Version.js"
import { postJson, type RetrySettings } from "./HttpSend.js"
import type { ReceiverError } from "./ReceiverError.js"
import { eventIdHeader, sign, signatureHeader, timestampHeader } from "./Signature.js"
import { slackMessage } from "./SlackPayload.js"
import { eventId, webhookPayload } from "./WebhookPayload.js"

export type WebhookSettings = Extract<ReceiverSettings, { readonly _tag: "Webhook" }>
export type SlackSettings = Extract<ReceiverSettings, { readonly _tag: "Slack" }>
/** Receivers that get one notification per state change, through the outbox. */
export type EventReceiverSettings = WebhookSettings | SlackSettings

export interface NotifyOptions {
  readonly externalUrl: string | null
  readonly retry?: RetrySettings
}

/** Headers of a webhook notification; `nowSeconds` is the signed timestamp. */
export const webhookHeaders = (
  settings: WebhookSettings,
  body: string,
  id: string,
  nowSeconds: number
): Record<string, string> => ({
  "Content-Type": "application/json",
  "User-Agent": userAgent,
  [eventIdHeader]: id,
  ...(settings.bearerToken === null ? {} : { Authorization: `Bearer ${Redacted.value(settings.bearerToken)}` }),
  ...(settings.hmacSecret === null ? {} : {
    [timestampHeader]: String(nowSeconds),
    [signatureHeader]: sign(settings.hmacSecret, nowSeconds, body)
  })
})

const secretsOf = (settings: WebhookSettings): ReadonlyArray<string> =>
  [settings.bearerToken, settings.hmacSecret].flatMap((secret) => (secret === null ? [] : [Redacted.value(secret)]))

export const sendWebhook = (
  settings: WebhookSettings,
  event: AlertEvent,
  options: NotifyOptions
): Effect.Effect<void, ReceiverError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const body = JSON.stringify(webhookPayload(event, { receiver: settings.name, externalUrl: options.externalUrl }))
    const nowSeconds = Math.floor((yield* Effect.clockWith((clock) => clock.currentTimeMillis)) / 1000)
    yield* postJson({
      receiver: settings.name,
      url: Redacted.value(settings.url),
      headers: webhookHeaders(settings, body, eventId(event), nowSeconds),
      body,
      timeout: settings.timeout,
      secrets: secretsOf(settings),
      ...(options.retry === undefined ? {} : { retry: options.retry })
    })
  })

export const sendSlack = (
  settings: SlackSettings,
  event: AlertEvent,
  options: NotifyOptions
): Effect.Effect<void, ReceiverError, HttpClient.HttpClient> =>
  postJson({
    receiver: settings.name,
    url: Redacted.value(settings.webhookUrl),
    headers: { "Content-Type": "application/json", "User-Agent": userAgent },
    body: JSON.stringify(slackMessage(event, { externalUrl: options.externalUrl })),
    timeout: settings.timeout,
    ...(options.retry === undefined ? {} : { retry: options.retry })
  })

export const sendEvent = (
  settings: EventReceiverSettings,
  event: AlertEvent,
  options: NotifyOptions
): Effect.Effect<void, ReceiverError, HttpClient.HttpClient> =>
  settings._tag === "Webhook" ? sendWebhook(settings, event, options) : sendSlack(settings, event, options)
