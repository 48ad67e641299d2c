import * as HttpClient from "@effect/platform/HttpClient"
import { Effect } from "effect"
import type { ReceiverSettings } from "../../Core/Domain/Alert.js"
import type { OutboxReceiver } from "../Outbox.js"
import { type EventReceiverSettings, type NotifyOptions, sendEvent } from "./Notify.js"

export const isEventReceiver = (settings: ReceiverSettings): settings is EventReceiverSettings =>
  settings._tag === "Webhook" || settings._tag === "Slack"

/** The webhook and Slack receivers of the config as outbox receivers (Alertmanager ones are resent, not queued). */
export const outboxReceivers = (
  receivers: ReadonlyArray<ReceiverSettings>,
  options: NotifyOptions
): Effect.Effect<ReadonlyArray<OutboxReceiver>, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) =>
    receivers.filter(isEventReceiver).map((settings) => ({
      name: settings.name,
      deliver: (item) =>
        sendEvent(settings, item.event, options).pipe(Effect.provideService(HttpClient.HttpClient, client))
    })))
