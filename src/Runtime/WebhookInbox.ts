import { Context, type Effect } from "effect"
import type { WebhookEvent } from "../Core/PhalaWebhook.js"
import type { WebhookResult } from "./Events.js"

/** Where `POST {server.phala_webhook.path}` hands verified events (`Daemon/Webhooks.ts`), and counts refusals. */
export class WebhookInbox extends Context.Tag("phala-drift/WebhookInbox")<WebhookInbox, {
  /** A verified event that arrived at `receivedAt` (epoch ms). */
  readonly receive: (event: WebhookEvent, receivedAt: number) => Effect.Effect<"accepted" | "duplicate" | "ignored">
  /** One request's outcome for `phala_drift_webhook_events_total`; `event` null when the body was not read. */
  readonly count: (event: string | null, result: WebhookResult) => Effect.Effect<void>
}>() {}
