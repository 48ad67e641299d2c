import { Context, type Effect } from "effect"
import type { AppId } from "../Core/Domain/AppId.js"

/** When each app was last refreshed by a Phala Cloud webhook's re-read (epoch ms), for the status page and the API. */
export class EventRefreshView extends Context.Tag("phala-drift/EventRefreshView")<EventRefreshView, {
  readonly lastEventRefresh: Effect.Effect<ReadonlyMap<AppId, number>>
}>() {}
