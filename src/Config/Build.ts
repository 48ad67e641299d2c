import { Duration, Effect, Either, Redacted } from "effect"
import * as Path from "node:path"
import type { AlertingSettings, ReceiverSettings } from "../Core/Domain/Alert.js"
import {
  type ApiSettings,
  type DaemonConfig,
  defaultMaxResponseBytes,
  type DesiredApp,
  type PollSchedule,
  type ServerAuth,
  type ServerSettings
} from "../Core/Domain/App.js"
import { apiKeyEnv, noApiKeyMessage } from "./Checks.js"
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
  maintenance: app.maintenance ?? []
})

/** Turns the decoded file into the domain config: env overrides, secret files, defaults. */
export const buildConfig = (
  file: ConfigFile,
  context: Context
): Effect.Effect<DaemonConfig, ReadonlyArray<Problem>> =>
  Effect.gen(function*() {
    const problems: Array<Problem> = []
    const baseDir = Path.dirname(context.file)

    // Secret files are relative to the config file, so a config and its secrets can move together.
    const readSecret = (path: string, at: ConfigPath) =>
      context.readSecretFile(Path.resolve(baseDir, path)).pipe(
        Effect.map((text) => text.trim()),
        Effect.filterOrFail((text) => text !== "", () => "the file is empty"),
        Effect.filterOrFail(
          (text) => !isUrlFileKey(at) || Either.isRight(httpUrl("")(text)),
          (text) => hasUserinfo(text) ? `the URL in it ${userinfoMessage}` : "the file does not hold an http(s) URL"
        ),
        Effect.map((text) => Redacted.make(text)),
        Effect.catchAll((reason) => {
          problems.push(problem(at, `cannot use secret file ${echo(path)}: ${reason}`))
          return Effect.succeed(null)
        })
      )

    const envUrl = (name: string): string | null => {
      const value = context.env[name]
      if (value === undefined || value === "") return null
      const url = httpUrl(`environment variable ${name}: `)(value)
      if (Either.isRight(url)) return url.right
      problems.push(problem(["api", "url"], url.left))
      return null
    }
    const urlOverride = envUrl("PHALA_CLOUD_API_URL") ?? envUrl("PHALA_CLOUD_API_PREFIX")

    const envKey = apiKeyEnv(context.env)
    const apiKey = envKey !== null
      ? Redacted.make(envKey)
      : file.api?.api_key ??
        (file.api?.api_key_file === undefined ? null : yield* readSecret(file.api.api_key_file, ["api", "api_key_file"]))
    if (apiKey === null && file.api?.api_key_file === undefined) problems.push(problem(file.api ? ["api"] : [], noApiKeyMessage))

    const api: ApiSettings = {
      url: urlOverride ?? file.api?.url ?? builtIn.apiUrl,
      apiKey: apiKey ?? Redacted.make(""),
      apiVersion: file.api?.api_version ?? builtIn.apiVersion,
      timeout: file.api?.timeout ?? builtIn.timeout,
      retries: file.api?.retries ?? builtIn.retries,
      concurrency: file.api?.concurrency ?? builtIn.concurrency,
      maxResponseBytes: file.api?.max_response_bytes ?? builtIn.maxResponseBytes
    }

    const poll: PollSchedule = file.poll?.cron !== undefined
      ? { _tag: "Cron", expression: file.poll.cron }
      : { _tag: "Interval", interval: file.poll?.interval ?? builtIn.pollInterval }

    const authFile = file.server?.auth
    let auth: ServerAuth | null = null
    if (authFile?.bearer_token !== undefined) {
      auth = { _tag: "Bearer", token: authFile.bearer_token }
    } else if (authFile?.bearer_token_file !== undefined) {
      const token = yield* readSecret(authFile.bearer_token_file, ["server", "auth", "bearer_token_file"])
      auth = token === null ? null : { _tag: "Bearer", token }
    } else if (authFile?.basic !== undefined) {
      const basic = authFile.basic
      const password = basic.password ??
        (basic.password_file === undefined
          ? null
          : yield* readSecret(basic.password_file, ["server", "auth", "basic", "password_file"]))
      auth = password === null ? null : { _tag: "Basic", username: basic.username, password }
    }

    const server: ServerSettings = {
      host: file.server?.listen?.host ?? builtIn.host,
      port: file.server?.listen?.port ?? builtIn.port,
      lifecycle: file.server?.lifecycle ?? false,
      auth,
      // like secret files, certificate paths are relative to the config file
      tls: file.server?.tls == null
        ? null
        : { certFile: Path.resolve(baseDir, file.server.tls.cert_file), keyFile: Path.resolve(baseDir, file.server.tls.key_file) }
    }

    const alerting = file.alerting == null ? null : yield* buildAlerting(file.alerting, readSecret)

    if (problems.length > 0) return yield* Effect.fail(problems)
    return {
      source: context.file,
      api,
      poll,
      server,
      stateDir: file.state_dir ?? builtIn.stateDir,
      apps: file.apps.map((app) => mergeApp(file.defaults, app)),
      alerting
    }
  })

type ReadSecret = (path: string, at: ConfigPath) => Effect.Effect<Redacted.Redacted<string> | null>

const buildReceiver = (
  entry: ReceiverEntry,
  at: ConfigPath,
  readSecret: ReadSecret
): Effect.Effect<ReceiverSettings | null> =>
  Effect.gen(function*() {
    const timeout = entry.timeout ?? builtIn.receiverTimeout
    const fromFile = (value: Redacted.Redacted<string> | undefined, path: string | undefined, key: string) =>
      value !== undefined ? Effect.succeed(value) : path === undefined ? Effect.succeed(null) : readSecret(path, [...at, key])
    switch (entry.type) {
      case "alertmanager":
        return { _tag: "Alertmanager", name: entry.name, urls: entry.urls, timeout }
      case "webhook": {
        const url = yield* fromFile(entry.url, entry.url_file, "url_file")
        const bearerToken = yield* fromFile(entry.bearer_token, entry.bearer_token_file, "bearer_token_file")
        const hmacSecret = yield* fromFile(entry.hmac_secret, entry.hmac_secret_file, "hmac_secret_file")
        return url === null ? null : { _tag: "Webhook", name: entry.name, url, bearerToken, hmacSecret, timeout }
      }
      case "slack": {
        const webhookUrl = yield* fromFile(entry.webhook_url, entry.webhook_url_file, "webhook_url_file")
        return webhookUrl === null ? null : { _tag: "Slack", name: entry.name, webhookUrl, timeout }
      }
    }
  })

const buildAlerting = (entry: AlertingEntry, readSecret: ReadSecret): Effect.Effect<AlertingSettings> =>
  Effect.gen(function*() {
    const receivers = yield* Effect.forEach(
      entry.receivers ?? [],
      (receiver, i) => buildReceiver(receiver, ["alerting", "receivers", i], readSecret)
    )
    return {
      resendInterval: entry.resend_interval ?? builtIn.resendInterval,
      receivers: receivers.filter((r): r is ReceiverSettings => r !== null),
      defaultReceivers: entry.default_receivers ?? [],
      routes: (entry.routes ?? []).map((route) => ({ match: route.match, receivers: route.receivers })),
      externalUrl: entry.external_url ?? null
    }
  })
