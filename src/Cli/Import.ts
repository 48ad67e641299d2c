import * as FileSystem from "@effect/platform/FileSystem"
import { Data, Duration, Effect, Either, Layer, Redacted } from "effect"
import { writeFileAtomic } from "../Alerts/AtomicFile.js"
import { PhalaClient } from "../Cloud/PhalaClient.js"
import { sweepWorkspace } from "../Cloud/WorkspaceSweep.js"
import { builtIn } from "../Config/Build.js"
import { apiKeyEnv } from "../Config/Checks.js"
import { formatConfigError } from "../Config/Diagnostics.js"
import { literalSecrets, mergeDocument, newDocument } from "../Config/ImportDocument.js"
import { parseConfigIsolated } from "../Config/Isolated.js"
import { parseConfig, readConfigText } from "../Config/Load.js"
import { composeHashSince } from "../Config/Warnings.js"
import type { DaemonConfig } from "../Core/Domain/App.js"
import { type AppId, normaliseAppId } from "../Core/Domain/AppId.js"
import type { ObservedApp } from "../Core/Domain/Observation.js"
import { importedApps } from "../Core/Import/ImportedApp.js"
import { Events } from "../Runtime/Events.js"
import { type Invocation, listOfOption, textOf } from "./Args.js"
import { setExitCode } from "./ExitCode.js"
import { printErr, printOut } from "./Output.js"
import { cycleBudget } from "./Plan.js"

const authNote = "API key rejected (HTTP 401): check PHALA_CLOUD_API_KEY or api.api_key"

class ImportFailed extends Data.TaggedError("ImportFailed")<{ readonly message: string }> {}

const fail = (message: string) => Effect.fail(new ImportFailed({ message }))

/**
 * Without `--config`, the API settings come from the environment as the loader reads them (PHALA_CLOUD_API_KEY,
 * PHALA_CLOUD_API_URL or PHALA_CLOUD_API_PREFIX), asking for the first version that reports compose_hash.
 */
const environmentSettings = Effect.gen(function*() {
  if (apiKeyEnv(process.env) === null) {
    return yield* fail("no API key: set PHALA_CLOUD_API_KEY, or give --config with an api: block")
  }
  const text = `version: 1\napi: { api_version: "${composeHashSince}" }\napps: []\n`
  return yield* parseConfig(text, "(environment)", process.env, () => Effect.fail("not read")).pipe(
    Effect.mapError((error) => new ImportFailed({ message: formatConfigError(error) }))
  )
})

interface Source {
  readonly config: DaemonConfig
  /** The `--config` file as written, to merge into; null without `--config`. */
  readonly text: string | null
}

const sourceOf = (path: string | undefined): Effect.Effect<Source, ImportFailed, FileSystem.FileSystem> =>
  path === undefined
    ? Effect.map(environmentSettings, (config) => ({ config, text: null }))
    : Effect.gen(function*() {
      const text = yield* readConfigText(path).pipe(Effect.mapError((e) => new ImportFailed({ message: formatConfigError(e) })))
      const config = yield* parseConfigIsolated(text, path, process.env).pipe(
        Effect.mapError((e) => new ImportFailed({ message: formatConfigError(e) }))
      )
      const secrets = literalSecrets(text)
      if (secrets.length > 0) {
        return yield* fail(
          `${path}: ${secrets.join(", ")} ${secrets.length === 1 ? "holds a secret" : "hold secrets"} written as a value; ` +
            "import does not copy secrets into its output: use ${VAR} or the *_file key instead"
        )
      }
      return { config, text }
    })

const wantedIds = (wanted: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<AppId>, ImportFailed> => {
  const ids = wanted.map((w) => [w, normaliseAppId(w)] as const)
  const bad = ids.flatMap(([w, id]) => (Either.isLeft(id) ? [`${JSON.stringify(w)} ${id.left}`] : []))
  return bad.length > 0
    ? fail(`--app: ${bad.join("; ")}`)
    : Effect.succeed([...new Set(ids.flatMap(([, id]) => (Either.isRight(id) ? [id.right] : [])))])
}

/** Every app of the workspace (or the `--app` ones), each with all its CVMs. */
const readApps = (config: DaemonConfig, wanted: ReadonlyArray<AppId>) =>
  Effect.gen(function*() {
    const client = yield* PhalaClient
    const deadline = Date.now() + Duration.toMillis(cycleBudget(config))
    const sweep = yield* sweepWorkspace({ deadline, concurrency: config.api.concurrency })
    if (sweep.failures.some((f) => f.reason === "auth")) return yield* fail(authNote)
    if (sweep.failures.length > 0) {
      const pages = sweep.failures.map((f) => `page ${f.page}: ${f.reason} (${f.message})`).join("; ")
      return yield* fail(`cannot read the whole workspace (GET /apps): ${pages}; nothing written`)
    }
    const ids: ReadonlyArray<AppId> = wanted.length > 0 ? wanted : [...sweep.apps.keys()]
    const skipped: Array<string> = []
    // an entry the API sent in a shape that cannot be read, or an app added while the pages were read, is not in it
    if (wanted.length === 0 && sweep.total !== null && sweep.apps.size < sweep.total) {
      skipped.push(`${sweep.total - sweep.apps.size} of the ${sweep.total} apps the listing announced: not in any page ` +
        "as read (unreadable entries, or pages that shifted); run import again, or name them with --app")
    }
    const problems: Array<string> = []
    let rejected = false
    // an app missing from the listing, or listed without its CVMs, is read on its own
    const read = yield* Effect.forEach(ids, (appId) => {
      const listed = sweep.apps.get(appId)?.app ?? null
      if (listed !== null) return Effect.succeed<ObservedApp | null>(listed)
      return client.getApp(appId, { deadline }).pipe(
        Effect.catchTags({
          AppNotFound: () => Effect.sync(() => (problems.push(`${appId}: no such app in the workspace`), null)),
          FetchFailure: (failure) =>
            Effect.sync(() => {
              if (failure.reason === "incomplete") skipped.push(`${appId}: ${failure.message}`)
              else problems.push(`${appId}: ${failure.reason} (${failure.message})`)
              if (failure.reason === "auth") rejected = true
              return null
            })
        })
      )
    }, { concurrency: config.api.concurrency })
    if (rejected) return yield* fail(authNote)
    if (problems.length > 0) return yield* fail(`cannot read ${problems.join("; ")}; nothing written`)
    return { apps: read.filter((a): a is ObservedApp => a !== null), skipped }
  }).pipe(
    Effect.provide(PhalaClient.layer(config.api).pipe(Layer.provide(Events.Default)))
  )

/** The output never holds the key, whatever the API sent back (names are redacted at the edge already). */
const leaksKey = (config: DaemonConfig, text: string): boolean => {
  const key = Redacted.value(config.api.apiKey)
  return key !== "" && text.toLowerCase().includes(key.toLowerCase())
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

export const run = (invocation: Invocation) =>
  Effect.gen(function*() {
    const configPath = textOf(invocation, "config")
    const outputPath = textOf(invocation, "output")
    const wanted = yield* wantedIds(listOfOption(invocation, "app"))
    const { config, text } = yield* sourceOf(configPath)
    const { apps, skipped } = yield* readApps(config, wanted)
    for (const s of skipped) yield* printErr(`phala-drift import: skipped ${s}`)
    const imported = importedApps(apps)
    let output: string
    let summary: string
    if (text === null) {
      const url = config.api.url === builtIn.apiUrl ? null : config.api.url
      output = newDocument({ url, apiVersion: config.api.apiVersion }, imported)
      summary = plural(imported.length, "app", "apps")
    } else {
      const merged = mergeDocument(text, imported)
      if (Either.isLeft(merged)) return yield* fail(`${configPath}: ${merged.left}`)
      output = merged.right.text
      summary = `${plural(merged.right.added.length, "new app", "new apps")} appended, ${merged.right.alreadyDeclared} already declared`
    }
    if (leaksKey(config, output)) return yield* fail("the output would contain the API key; nothing written")
    if (outputPath === undefined) {
      yield* printOut(output)
    } else {
      const fs = yield* FileSystem.FileSystem
      yield* writeFileAtomic(outputPath, output, { mode: 0o644 }).pipe(
        Effect.zipRight(fs.chmod(outputPath, 0o644)),
        Effect.mapError((e) => new ImportFailed({ message: `cannot write ${outputPath}: ${e.message}` }))
      )
    }
    yield* printErr(`phala-drift import: ${summary}${outputPath === undefined ? "" : ` written to ${outputPath}`}`)
  }).pipe(
    Effect.catchTag("ImportFailed", (e) => printErr(`phala-drift import: ${e.message}`).pipe(Effect.zipRight(setExitCode(1))))
  )
