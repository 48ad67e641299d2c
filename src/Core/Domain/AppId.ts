import { Either, Schema } from "effect"
import { show } from "../Echo.js"
import { leaf } from "./Leaf.js"

/** 40 lower-case hex characters, without the `app_` prefix. */
export type AppId = string

/** What the config, `--app` and the API may write (any case, an optional `app_` prefix) → the one form used inside. */
export const normaliseAppId = (u: unknown): Either.Either<AppId, string> => {
  const id = typeof u === "string" ? u.trim().replace(/^app_/i, "") : ""
  return /^[0-9a-fA-F]{40}$/.test(id)
    ? Either.right(id.toLowerCase())
    : Either.left(`must be 40 hex characters (an "app_" prefix is allowed), got ${show(u)}`)
}

export const AppId = leaf(Schema.String, normaliseAppId)
