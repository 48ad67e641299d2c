/**
 * Shared by the conformance tier: the official SDK (`@phala/cloud`, a devDependency) pointed at the real simulator
 * (`phala-drift simulate`, started by the e2e harness), and the simulator's world as its admin API reports it.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { type ApiVersion, createBaseClient, PhalaCloudError, SUPPORTED_API_VERSIONS } from "@phala/cloud"
import { Effect, Schema } from "effect"
import { beforeAll } from "vitest"
import { readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import { loadScenario } from "../../../src/Simulator/Simulator.js"
import { ROOT, type Simulator, startSimulator } from "../../e2e/support/harness.js"

// == the SDK

/** The API versions the SDK supports, read from the package at run time (never copied here). */
export const sdkVersions: ReadonlyArray<ApiVersion> = SUPPORTED_API_VERSIONS

const PackageJson = Schema.Struct({ name: Schema.String, version: Schema.String })
export const sdkPackage = Schema.decodeUnknownSync(PackageJson)(createRequire(import.meta.url)("@phala/cloud/package.json"))

export type SdkClient = ReturnType<typeof createBaseClient>

/**
 * The SDK's client against the simulator. ofetch would retry a failed GET once; without retries one SDK call is one
 * request, so an injected fault reaches the SDK as sent. `null` sends no key at all.
 */
export const sdkClient = (sim: Simulator, version: ApiVersion, apiKey: string | null): SdkClient =>
  createBaseClient({ baseURL: sim.apiUrl, version, retry: 0, ...(apiKey === null ? { useCookieAuth: true } : { apiKey }) })

const ZodIssues = Schema.Struct({
  issues: Schema.Array(Schema.Struct({
    path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
    message: Schema.String,
    unionErrors: Schema.optionalWith(Schema.Array(Schema.suspend((): Schema.Schema<ZodIssues> => ZodIssues)), { exact: true })
  }))
})
interface ZodIssues {
  readonly issues: ReadonlyArray<{ readonly path: ReadonlyArray<string | number>; readonly message: string; readonly unionErrors?: ReadonlyArray<ZodIssues> }>
}

const zodLines = (error: ZodIssues): ReadonlyArray<string> =>
  error.issues.flatMap((issue) =>
    issue.unionErrors === undefined
      ? [`${issue.path.join(".") || "(root)"}: ${issue.message}`]
      : issue.unionErrors.map((branch, i) => `union branch ${i}: ${zodLines(branch).slice(0, 4).join("; ")}`)
  )

/** What the SDK objected to, in one line: the schema's issues, or the API error it raised. */
export const describeFailure = (error: unknown): string => {
  if (error instanceof PhalaCloudError) return `${error.name} ${error.status}: ${error.message}`
  const zod = Schema.decodeUnknownOption(ZodIssues)(error)
  if (zod._tag === "Some") return zodLines(zod.value).join(" | ")
  return String(error)
}

// == scenarios

/** Every scenario the repository ships or tests with, relative to the repository root. */
export const bundledScenarios: ReadonlyArray<string> = [
  ...readdirSync(join(ROOT, "config", "scenarios")).filter((f) => f.endsWith(".yaml")).map((f) => join("config", "scenarios", f)),
  ...readdirSync(join(ROOT, "test", "fixtures", "e2e")).filter((f) => f.endsWith(".scenario.yaml")).map((f) =>
    join("test", "fixtures", "e2e", f)
  ),
  ...readdirSync(join(ROOT, "test", "conformance", "scenarios")).filter((f) => f.endsWith(".yaml")).map((f) =>
    join("test", "conformance", "scenarios", f)
  )
].sort()

/** A key the scenario accepts (it accepts any non-empty key when it lists none). */
const scenarioKey = (path: string): Promise<string> =>
  Effect.runPromise(
    loadScenario(join(ROOT, path)).pipe(
      Effect.map((scenario) => scenario.api_keys?.[0] ?? "phak_conformance"),
      Effect.provide(NodeFileSystem.layer)
    )
  )

export interface Running {
  readonly sim: Simulator
  readonly key: string
}

/**
 * Starts `phala-drift simulate` on a scenario file of the repository before the enclosing block's tests (the
 * harness's `stopAll` stops it); the tests read it from the returned function.
 */
export const simulatorFor = (path: string): () => Running => {
  let running: Running | undefined
  beforeAll(async () => {
    running = { key: await scenarioKey(path), sim: await startSimulator(join(ROOT, path)) }
  })
  return () => {
    if (running === undefined) throw new Error(`the simulator for ${path} did not start`)
    return running
  }
}

export const readRoot = (path: string): string => readFileSync(join(ROOT, path), "utf8")

// == the simulator's world (GET /_sim/state)

const SimCvm = Schema.Struct({
  vm_uuid: Schema.String,
  id: Schema.String,
  name: Schema.String,
  status: Schema.String,
  instance_id: Schema.NullOr(Schema.String)
})
export type SimCvm = typeof SimCvm.Type

const SimApp = Schema.Struct({
  app_id: Schema.String,
  id: Schema.String,
  name: Schema.String,
  version: Schema.NullOr(Schema.String),
  shape: Schema.Literal("full", "minimal"),
  forbidden: Schema.Boolean,
  cvms: Schema.Array(SimCvm),
  faults: Schema.Struct({
    latency_ms: Schema.NullOr(Schema.Number),
    statuses: Schema.Array(Schema.Unknown),
    rate_limit: Schema.NullOr(Schema.Unknown),
    malformed: Schema.Boolean,
    wrong_types: Schema.Boolean,
    hang: Schema.Boolean
  })
})
export type SimApp = typeof SimApp.Type

const SimState = Schema.Struct({ apps: Schema.Array(SimApp) })

/** An admin call that must succeed. */
export const admin = async (sim: Simulator, method: string, path: string, body?: unknown): Promise<unknown> => {
  const response = await sim.admin(method, path, body)
  const text = await response.text()
  if (!response.ok) throw new Error(`admin ${method} ${path}: ${response.status} ${text}`)
  return text === "" ? null : JSON.parse(text)
}

export const worldOf = async (sim: Simulator): Promise<ReadonlyArray<SimApp>> =>
  Schema.decodeUnknownSync(SimState)(await admin(sim, "GET", "/_sim/state")).apps

/**
 * The scenario as loaded, clock restarted (no timeline event is due for a while), every app's faults cleared:
 * injected faults are judged on their own, not mistaken for unfaithful answers.
 */
export const freshWorld = async (sim: Simulator): Promise<ReadonlyArray<SimApp>> => {
  await admin(sim, "POST", "/_sim/reset")
  const apps = await worldOf(sim)
  const faulty = apps.filter(({ faults: f }) =>
    f.latency_ms !== null || f.statuses.length > 0 || f.rate_limit !== null || f.malformed || f.wrong_types || f.hang
  )
  for (const app of faulty) await admin(sim, "DELETE", `/_sim/apps/${app.app_id}/faults`)
  return apps
}

export const setStatus = (sim: Simulator, app: SimApp, cvm: SimCvm, status: string): Promise<unknown> =>
  admin(sim, "PUT", `/_sim/apps/${app.app_id}/cvms/${cvm.vm_uuid}/status`, { status })

/** At most `n` items spread evenly over the list, first and last included. */
export const spread = <A>(items: ReadonlyArray<A>, n: number): ReadonlyArray<A> => {
  if (items.length <= n) return items
  return Array.from({ length: n }, (_, i) => items[Math.round((i * (items.length - 1)) / (n - 1))]).filter((a) => a !== undefined)
}
