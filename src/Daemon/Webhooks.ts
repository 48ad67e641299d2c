import { Effect, Either, Layer } from "effect"
import type { AppId } from "../Core/Domain/AppId.js"
import { normaliseAppId } from "../Core/Domain/AppId.js"
import { declaredApp } from "../Core/Domain/App.js"
import { eventLabel, type WebhookEvent } from "../Core/PhalaWebhook.js"
import { ConfigStore } from "../Runtime/ConfigStore.js"
import { DaemonEvent, Events, type WebhookResult } from "../Runtime/Events.js"
import { WebhookInbox } from "../Runtime/WebhookInbox.js"
import { AppRefresh } from "./AppRefresh.js"

/** Event ids remembered to answer a redelivery with a no-op; the oldest are forgotten first. */
export const rememberedIds = 10_000

/**
 * What the daemon does with a verified Phala Cloud event: a redelivered id is a no-op, an event about a declared
 * app asks for its re-read, anything else is ignored. Every outcome, including the route's refusals, is counted.
 */
export class Webhooks extends Effect.Service<Webhooks>()("phala-drift/Webhooks", {
  effect: Effect.gen(function*() {
    const store = yield* ConfigStore
    const refresh = yield* AppRefresh
    const events = yield* Events
    // a Map keeps insertion order: the first key is the oldest
    const seen = new Map<string, true>()

    const count = (event: string | null, result: WebhookResult) =>
      events.publish(DaemonEvent.WebhookReceived({ event: eventLabel(event), result }))

    const receive = (event: WebhookEvent, receivedAt: number): Effect.Effect<"accepted" | "duplicate" | "ignored"> =>
      Effect.gen(function*() {
        if (seen.has(event.id)) {
          yield* count(event.event, "duplicate")
          return "duplicate"
        }
        seen.set(event.id, true)
        if (seen.size > rememberedIds) {
          const oldest = seen.keys().next()
          if (oldest.done !== true) seen.delete(oldest.value)
        }
        const config = yield* store.current
        const appId: AppId | null = event.data.app_id == null ? null : Either.getOrNull(normaliseAppId(event.data.app_id))
        if (appId === null || declaredApp(config, appId) === undefined) {
          yield* count(event.event, "ignored")
          return "ignored"
        }
        yield* refresh.request(appId, receivedAt)
        yield* count(event.event, "accepted")
        return "accepted"
      })

    return { receive, count } as const
  }),
  dependencies: [AppRefresh.Default, Events.Default]
}) {}

/** The HTTP route's view of the webhooks (`Runtime/WebhookInbox.ts`). */
export const WebhookInboxLive = Layer.effect(WebhookInbox, Effect.map(Webhooks, (w) => WebhookInbox.of(w)))
