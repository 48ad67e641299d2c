/**
 * The 404 rule of DESIGN §4: a 404 is `missing_app` only when it is the API's own answer about the app and the base
 * URL has been confirmed by a 2xx from it in this process. A wrong `api.url` (`/api/v2`, no `/api/v1`, a proxy)
 * answers 404 for every app; reading that as "deleted" would page someone about the whole fleet.
 */
import { Duration, Effect, Either, Option, Ref } from "effect"
import type { BoundedBody } from "./BoundedBody.js"
import { apiErrorText, resourceNotFoundText } from "./ErrorBody.js"

export type NotFoundKind =
  /** The API's JSON error about the app, e.g. `{"detail":"App not found"}`. */
  | { readonly _tag: "AboutApp"; readonly text: string }
  /** A route-level or proxy 404: `what` says what came instead. */
  | { readonly _tag: "NotTheApi"; readonly what: string }

const clip = (text: string): string => (text.length <= 60 ? text : `${text.slice(0, 59)}…`)

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/** What a 404 body is; `contentType` only helps describe bodies that are not the API's. */
export const classifyNotFound = (body: BoundedBody, contentType: string | null): NotFoundKind => {
  if (body._tag === "TooLarge") return { _tag: "NotTheApi", what: "an oversized body" }
  const about = resourceNotFoundText(body.text)
  if (Option.isSome(about)) return { _tag: "AboutApp", text: about.value }
  const text = body.text.trim()
  if (text === "") return { _tag: "NotTheApi", what: "an empty body" }
  if (isJson(text)) {
    const said = apiErrorText(text)
    return {
      _tag: "NotTheApi",
      what: Option.isSome(said) ? `a route-level error ("${clip(said.value)}")` : "a JSON body that is not the API's error"
    }
  }
  if (contentType?.toLowerCase().includes("html") === true || /^<(!doctype|html)/i.test(text)) {
    return { _tag: "NotTheApi", what: "an HTML page (a proxy?)" }
  }
  return { _tag: "NotTheApi", what: "a body that is not JSON" }
}

const urlHint = "api.url may be wrong (usually https://cloud-api.phala.com/api/v1)"

export const notTheApiMessage = (what: string): string =>
  `HTTP 404 with ${what}, not the API's answer about this app: ${urlHint}`

export const unconfirmedMessage = (probeProblem: string, apiText: string): string =>
  `HTTP 404 from an api.url never confirmed (GET /apps: ${probeProblem}), so not taken as missing_app: ${urlHint}. ` +
  `The server said: ${apiText}`

/** Whether the base URL answered like the Phala API: `Left` says why not. */
export type Confirmation = Either.Either<void, string>

export interface BaseUrlConfirmation {
  /** Records a 2xx API answer from the base URL. */
  readonly confirm: Effect.Effect<void>
  /** Confirmed already, else the outcome of a probe (shared by concurrent callers; a failure is reused a while). */
  readonly check: Effect.Effect<Confirmation>
}

/** A failed probe is reused this long, so a fleet of 404s costs one probe, not one per app. */
export const failedProbeReuse = Duration.seconds(30)

/** Confirmation of one base URL, probing with `probe` (e.g. `GET {base}/apps?page=1&page_size=1`) when needed. */
export const makeBaseUrlConfirmation = (probe: Effect.Effect<Confirmation>): Effect.Effect<BaseUrlConfirmation> =>
  Effect.gen(function*() {
    const confirmed = yield* Ref.make(false)
    const cachedProbe = yield* Effect.cachedWithTTL(probe, failedProbeReuse)
    const confirm = Ref.set(confirmed, true)
    const check = Effect.flatMap(Ref.get(confirmed), (yes) =>
      yes
        ? Effect.succeed(Either.void)
        : Effect.tap(cachedProbe, (outcome) => (Either.isRight(outcome) ? confirm : Effect.void)))
    return { confirm, check }
  })
