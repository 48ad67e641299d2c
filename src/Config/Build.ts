import { Duration, Effect, Either, Option, Redacted } from "effect"
import * as Path from "node:path"
import type { AlertingSettings, ReceiverSettings } from "../Core/Domain/Alert.js"
import {
  type ApiSettings,
  type DaemonConfig,
  defaultMaxResponseBytes,
  defaultRemediation,
  type DesiredApp,
  type PhalaWebhookSettings,
  type PollSchedule,
  type ServerAuth
} from "../Core/Domain/App.js"
import { normaliseAppId } from "../Core/Domain/AppId.js"
import { apiKeyEnv } from "./Checks.js"
import type { ConfigPath, Problem } from "./Diagnostics.js"
import { problem } from "./Diagnostics.js"
import { echo, hasUserinfo } from "../Core/Echo.js"
import { httpUrl, userinfoMessage } from "./Fields.js"
import type { AlertingEntry, AppDefaults, AppEntry, ConfigFile, ReceiverEntry } from "./FileSchema.js"
import type { Env } from "./Interpolate.js"

/** Reads a secret file; fails with a short reason such as `NotFound`. */
export type ReadSecretFile = (path: string) => Effect.Effect<string, string>

export const builtIn = {
  apiUrl: "https://cloud-api.phala.com/api/v1",
  apiVersion: "2025-10-28",
  timeout: Duration.seconds(10),
  retries: 3,
  concurrency: 8,
  maxResponseBytes: defaultMaxResponseBytes,
  fetch: "auto",
  pollInterval: Duration.seconds(30),
  host: "0.0.0.0",
  port: 9477,
  stateDir: "./data",
  status: "running",
  severity: "warning",
  for: Duration.minutes(2),
  resendInterval: Duration.minutes(1),
  receiverTimeout: Duration.seconds(10)
} as const

const isUrlFileKey = (at: ConfigPath): boolean => {
  const last = at[at.length - 1]
  return last === "url_file" || last === "webhook_url_file"
}

interface Context {
  readonly file: string
  readonly env: Env
  readonly readSecretFile: ReadSecretFile
}

export const mergeApp = (defaults: AppDefaults | undefined, app: AppEntry): DesiredApp => ({
  appId: app.app_id,
  name: app.name ?? null,
  labels: { ...defaults?.labels, ...app.labels },
  replicas: app.replicas ?? defaults?.replicas ?? { min: 1, max: 1 },
  status: app.status ?? defaults?.status ?? builtIn.status,
  cvm: { ...defaults?.cvm, ...app.cvm },
  severity: app.severity ?? defaults?.severity ?? builtIn.severity,
  for: app.for ?? defaults?.for ?? builtIn.for,
  keepFiringFor: app.keep_firing_for ?? defaults?.keep_firing_for ?? null,
  maintenance: app.maintenance ?? [],
  remediate: app.remediate ?? false
})

/** A part of the config, or the problems that keep it from being built (all of them, not the first). */
type Built<A> = Effect.Effect<A, ReadonlyArray<Problem>>

const failWith = (at: ConfigPath, message: string) => Effect.fail([problem(at, message)])

/**
 * The problems of every part that failed (`Effect.all` in `validate` mode runs them all): a file with a missing
 * secret file and a bad `PHALA_CLOUD_API_URL` says both at once.
 */
const problemsOfParts = (failures: Readonly<Record<string, Option.Option<ReadonlyArray<Problem>>>>): ReadonlyArray<Problem> =>
  Object.values(failures).flatMap(Option.getOrElse((): ReadonlyArray<Problem> => []))

/** Turns the decoded file into the domain config: env overrides, secret files, defaults. */
export const buildConfig = (
  file: ConfigFile,
  context: Context
): Effect.Effect<DaemonConfig, ReadonlyArray<Problem>> => {
  const baseDir = Path.dirname(context.file)

  // Secret files are relative to the config file, so a config and its secrets can move together.
  const readSecret: ReadSecret = (path, at) =>
    context.readSecretFile(Path.resolve(baseDir, path)).pipe(
      Effect.map((text) => text.trim()),
      Effect.filterOrFail((text) => text !== "", () => "the file is empty"),
      Effect.filterOrFail(
        (text) => !isUrlFileKey(at) || Either.isRight(httpUrl("")(text)),
        (text) => hasUserinfo(text) ? `the URL in it ${userinfoMessage}` : "the file does not hold an http(s) URL"
      ),
      Effect.mapBoth({
        onFailure: (reason) => [problem(at, `cannot use secret file ${echo(path)}: ${reason}`)],
        onSuccess: (text) => Redacted.make(text)
      })
    )

  const envUrl = (name: string): Built<string | null> => {
    const value = context.env[name]
    if (value === undefined || value === "") return Effect.succeed(null)
    return Either.match(httpUrl(`environment variable ${name}: `)(value), {
      onLeft: (message) => failWith(["api", "url"], message),
      onRight: Effect.succeed
    })
  }

  // presence of a key is checked on the tree, before decoding (Checks.ts); here it is only read
  const envKey = apiKeyEnv(context.env)
  const apiKey: Built<Redacted.Redacted<string>> = envKey !== null
    ? Effect.succeed(Redacted.make(envKey))
    : file.api?.api_key !== undefined
    ? Effect.succeed(file.api.api_key)
    : file.api?.api_key_file !== undefined
    ? readSecret(file.api.api_key_file, ["api", "api_key_file"])
    : Effect.succeed(Redacted.make(""))

  const api: Built<ApiSettings> = Effect.all({ url: envUrl("PHALA_CLOUD_API_URL"), prefix: envUrl("PHALA_CLOUD_API_PREFIX"), apiKey }, { mode: "validate" }).pipe(
    Effect.mapError(problemsOfParts),
    Effect.map(({ apiKey, prefix, url }): ApiSettings => ({
      url: url ?? prefix ?? file.api?.url ?? builtIn.apiUrl,
      apiKey,
      apiVersion: file.api?.api_version ?? builtIn.apiVersion,
      timeout: file.api?.timeout ?? builtIn.timeout,
      retries: file.api?.retries ?? builtIn.retries,
      concurrency: file.api?.concurrency ?? builtIn.concurrency,
      maxResponseBytes: file.api?.max_response_bytes ?? builtIn.maxResponseBytes,
      fetch: file.api?.fetch ?? builtIn.fetch
    }))
  )

  const poll: PollSchedule = file.poll?.cron !== undefined
    ? { _tag: "Cron", expression: file.poll.cron }
    : { _tag: "Interval", interval: file.poll?.interval ?? builtIn.pollInterval }

  const authFile = file.server?.auth
  const basic = authFile?.basic
  const auth: Built<ServerAuth | null> = authFile?.bearer_token !== undefined
    ? Effect.succeed({ _tag: "Bearer", token: authFile.bearer_token })
    : authFile?.bearer_token_file !== undefined
    ? Effect.map(readSecret(authFile.bearer_token_file, ["server", "auth", "bearer_token_file"]), (token) => ({ _tag: "Bearer", token }))
    : basic !== undefined
    ? Effect.map(
      basic.password !== undefined
        ? Effect.succeed(basic.password)
        : readSecret(basic.password_file ?? "", ["server", "auth", "basic", "password_file"]),
      (password) => ({ _tag: "Basic", username: basic.username, password })
    )
    : Effect.succeed(null)

  const hookFile = file.server?.phala_webhook
  const phalaWebhook: Built<PhalaWebhookSettings | null> = hookFile == null
    ? Effect.succeed(null)
    : Effect.map(
      hookFile.secret !== undefined
        ? Effect.succeed(hookFile.secret)
        : readSecret(hookFile.secret_file ?? "", ["server", "phala_webhook", "secret_file"]),
      (secret) => ({ path: hookFile.path, secret })
    )

  const alerting: Built<AlertingSettings | null> = file.alerting == null
    ? Effect.succeed(null)
    : buildAlerting(file.alerting, readSecret)

  return Effect.all({ api, auth, phalaWebhook, alerting }, { mode: "validate" }).pipe(Effect.mapError(problemsOfParts), Effect.map(({ alerting, api, auth, phalaWebhook }): DaemonConfig => ({
    source: context.file,
    api,
    poll,
    server: {
      host: file.server?.listen?.host ?? builtIn.host,
      port: file.server?.listen?.port ?? builtIn.port,
      lifecycle: file.server?.lifecycle ?? false,
      auth,
      // like secret files, certificate paths are relative to the config file
      tls: file.server?.tls == null
        ? null
        : { certFile: Path.resolve(baseDir, file.server.tls.cert_file), keyFile: Path.resolve(baseDir, file.server.tls.key_file) },
      phalaWebhook
    },
    stateDir: file.state_dir ?? builtIn.stateDir,
    apps: file.apps.map((app) => mergeApp(file.defaults, app)),
    alerting,
    remediation: {
      enabled: file.remediation?.enabled ?? defaultRemediation.enabled,
      dryRun: file.remediation?.dry_run ?? defaultRemediation.dryRun,
      maxActionsPerCycle: file.remediation?.max_actions_per_cycle ?? defaultRemediation.maxActionsPerCycle,
      cooldown: file.remediation?.cooldown ?? defaultRemediation.cooldown,
      maxAttempts: file.remediation?.max_attempts ?? defaultRemediation.maxAttempts
    },
    discovery: {
      unmanaged: file.discovery?.unmanaged ?? "ignore",
      // ids as the config normalises them, so `app_0A1B…` ignores the app the API lists as `0a1b…`
      ignore: (file.discovery?.ignore ?? []).map((entry) => Either.getOrElse(normaliseAppId(entry), () => entry))
    }
  })))
}

type ReadSecret = (path: string, at: ConfigPath) => Built<Redacted.Redacted<string>>

const buildReceiver = (entry: ReceiverEntry, at: ConfigPath, readSecret: ReadSecret): Built<ReceiverSettings> => {
  const timeout = entry.timeout ?? builtIn.receiverTimeout
  const fromFile = (value: Redacted.Redacted<string> | undefined, path: string | undefined, key: string) =>
    value !== undefined ? Effect.succeed(value) : path === undefined ? Effect.succeed(null) : readSecret(path, [...at, key])
  switch (entry.type) {
    case "alertmanager":
      return Effect.succeed({ _tag: "Alertmanager", name: entry.name, urls: entry.urls, timeout })
    case "webhook":
      return Effect.all({
        // the schema requires exactly one of url and url_file
        url: fromFile(entry.url, entry.url_file, "url_file"),
        bearerToken: fromFile(entry.bearer_token, entry.bearer_token_file, "bearer_token_file"),
        hmacSecret: fromFile(entry.hmac_secret, entry.hmac_secret_file, "hmac_secret_file")
      }, { mode: "validate" }).pipe(
        Effect.mapError(problemsOfParts),
        Effect.map(({ bearerToken, hmacSecret, url }): ReceiverSettings => ({
          _tag: "Webhook",
          name: entry.name,
          url: url ?? Redacted.make(""),
          bearerToken,
          hmacSecret,
          timeout
        }))
      )
    case "slack":
      return Effect.map(
        fromFile(entry.webhook_url, entry.webhook_url_file, "webhook_url_file"),
        (webhookUrl): ReceiverSettings => ({ _tag: "Slack", name: entry.name, webhookUrl: webhookUrl ?? Redacted.make(""), timeout })
      )
  }
}

const buildAlerting = (entry: AlertingEntry, readSecret: ReadSecret): Built<AlertingSettings> =>
  Effect.validateAll(
    entry.receivers ?? [],
    (receiver, i) => buildReceiver(receiver, ["alerting", "receivers", i], readSecret)
  ).pipe(
    Effect.mapError((failures) => failures.flat()),
    Effect.map((receivers) => ({
      resendInterval: entry.resend_interval ?? builtIn.resendInterval,
      receivers,
      defaultReceivers: entry.default_receivers ?? [],
      routes: (entry.routes ?? []).map((route) => ({ match: route.match, receivers: route.receivers })),
      externalUrl: entry.external_url ?? null
    }))
  )
