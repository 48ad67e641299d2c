import { Either, ParseResult, Schema } from "effect"
import { createHash } from "node:crypto"
import type { Action } from "./Actions.js"
import type { PlanJson } from "./PlanJson.js"

/**
 * The file `plan --out FILE` writes and `apply FILE` / `show FILE` read: the plan document, its text rendering (so
 * `show` prints exactly what `plan` printed), and the digest of the config file it was made from, which `apply`
 * compares to refuse a stale plan.
 */

export const savedPlanVersion = "1"

/** `sha256:<hex>` of the config file's text: the same file, byte for byte, gives the same digest. */
export const configDigest = (text: string): string => `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`

const ActionSchema = Schema.Struct({
  app_id: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{40}$/)),
  vm_uuid: Schema.String,
  cvm_name: Schema.String,
  action: Schema.Literal("start", "shutdown", "stop"),
  from: Schema.String,
  to: Schema.Literal("running", "stopped")
})

/** What of the plan document `apply` and `show` rely on; the rest is kept as written. */
const SavedPlanDocument = Schema.Struct({
  format_version: Schema.Literal("1.1"),
  generated_at: Schema.String,
  actions: Schema.Array(ActionSchema)
})

const SavedPlanFile = Schema.Struct({
  saved_plan_version: Schema.Literal(savedPlanVersion),
  config: Schema.Struct({ path: Schema.String, digest: Schema.String.pipe(Schema.pattern(/^sha256:[0-9a-f]{64}$/)) }),
  apps: Schema.Array(Schema.String),
  text: Schema.String,
  plan: Schema.Unknown
})

export interface SavedPlan {
  readonly configPath: string
  readonly configDigest: string
  /** The `--app` selection the plan was made with (empty: every app). */
  readonly apps: ReadonlyArray<string>
  readonly text: string
  readonly generatedAt: string
  readonly actions: ReadonlyArray<Action>
  /** The plan document as saved, for `show --output json`. */
  readonly document: unknown
}

export const encodeSavedPlan = (
  plan: PlanJson,
  text: string,
  config: { readonly path: string; readonly digest: string },
  apps: ReadonlyArray<string>
): string =>
  JSON.stringify({ saved_plan_version: savedPlanVersion, config, apps, text, plan }, null, 2) + "\n"

const decodeFile = Schema.decodeUnknownEither(Schema.parseJson(SavedPlanFile))
const decodeDocument = Schema.decodeUnknownEither(SavedPlanDocument)

const describe = (error: ParseResult.ParseError): string => ParseResult.TreeFormatter.formatErrorSync(error)

/** The saved plan, or why the text is not one (a message for a person). */
export const decodeSavedPlan = (text: string): Either.Either<SavedPlan, string> =>
  Either.flatMap(Either.mapLeft(decodeFile(text), (e) => `not a saved plan: ${describe(e)}`), (file) =>
    Either.map(
      Either.mapLeft(decodeDocument(file.plan), (e) => `the saved plan document is not format 1.1: ${describe(e)}`),
      (document): SavedPlan => ({
        configPath: file.config.path,
        configDigest: file.config.digest,
        apps: file.apps,
        text: file.text,
        generatedAt: document.generated_at,
        actions: document.actions,
        document: file.plan
      })
    ))
