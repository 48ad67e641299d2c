/**
 * Error answers as the official SDK sees them: its `ApiErrorSchema` parses every JSON error body, and its error
 * parser files each one in the class a real answer would get (AuthError, BusinessError, ResourceError with its
 * error code, ValidationError with its fields, ServerError). Injected faults must look like faults to the SDK too.
 */
import {
  ApiErrorSchema,
  AuthError,
  BusinessError,
  isConflictError,
  PhalaCloudError,
  ResourceError,
  safeGetAppInfo,
  safeGetAppList,
  safeRestartCvm,
  safeStartCvm,
  safeStopCvm,
  ServerError,
  ValidationError
} from "@phala/cloud"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { type Simulator, stopAll } from "../e2e/support/harness.js"
import { admin, freshWorld, type SimApp, type SdkClient, sdkClient, sdkVersions, simulatorFor } from "./support/conformance.js"

afterAll(stopAll)

const SCENARIO = join("test", "conformance", "scenarios", "edges.yaml")
const UNKNOWN_APP = "5c01cf57791ca45fe9e41443d7597a570a63fca5"
const UNKNOWN_VM = "00000000-0000-4000-8000-000000000000"

interface World {
  readonly sim: Simulator
  readonly client: SdkClient
  readonly app: (name: string) => SimApp
}

type Outcome = { readonly success: true } | { readonly success: false; readonly error: unknown }

interface ErrorCase {
  readonly name: string
  /** The raw request, when its body must parse with the SDK's ApiErrorSchema. */
  readonly raw?: (w: World) => { readonly method: "GET" | "POST"; readonly path: string; readonly apiKey?: string | null }
  readonly call: (w: World, version: (typeof sdkVersions)[number]) => Promise<Outcome>
  readonly expected: {
    readonly class: abstract new(...args: never) => PhalaCloudError
    readonly notClass?: abstract new(...args: never) => PhalaCloudError
    readonly status: number
    readonly message?: string
    readonly errorCode?: string
    readonly conflict?: boolean
    readonly fields?: ReadonlyArray<string>
  }
}

const cases: ReadonlyArray<ErrorCase> = [
  {
    name: "no API key",
    raw: (w) => ({ method: "GET", path: `/apps/${w.app("replicas").app_id}`, apiKey: null }),
    call: (w, v) => safeGetAppInfo(sdkClient(w.sim, v, null), { appId: w.app("replicas").app_id }),
    expected: { class: AuthError, status: 401, message: "Authentication required" }
  },
  {
    name: "a key the workspace does not know (list)",
    raw: () => ({ method: "GET", path: "/apps", apiKey: "phak_not_a_key" }),
    call: (w, v) => safeGetAppList(sdkClient(w.sim, v, "phak_not_a_key")),
    expected: { class: AuthError, status: 401, message: "Invalid API key" }
  },
  {
    name: "an app of another workspace",
    raw: (w) => ({ method: "GET", path: `/apps/${w.app("foreign").app_id}` }),
    call: (w) => safeGetAppInfo(w.client, { appId: w.app("foreign").app_id }),
    expected: { class: AuthError, status: 403, message: "You do not have permission to perform this action" }
  },
  {
    name: "an unknown app",
    raw: () => ({ method: "GET", path: `/apps/${UNKNOWN_APP}` }),
    call: (w) => safeGetAppInfo(w.client, { appId: UNKNOWN_APP }),
    expected: { class: BusinessError, notClass: ResourceError, status: 404, message: "App not found" }
  },
  {
    name: "an unknown CVM",
    raw: () => ({ method: "POST", path: `/cvms/${UNKNOWN_VM.replaceAll("-", "")}/start` }),
    call: (w) => safeStartCvm(w.client, { uuid: UNKNOWN_VM }),
    expected: { class: ResourceError, status: 404, errorCode: "ERR-03-001", message: "The requested CVM was not found" }
  },
  {
    name: "a CVM of another workspace (indistinguishable from an unknown one)",
    call: (w) => safeStartCvm(w.client, { id: w.app("foreign").cvms[0]?.id ?? "" }),
    expected: { class: ResourceError, status: 404, errorCode: "ERR-03-001" }
  },
  {
    name: "app_<id> of an app with several CVMs",
    raw: (w) => ({ method: "POST", path: `/cvms/app_${w.app("replicas").app_id}/restart` }),
    call: (w) => safeRestartCvm(w.client, { app_id: w.app("replicas").app_id }),
    expected: { class: ResourceError, status: 409, errorCode: "ERR-03-010", conflict: true }
  },
  {
    name: "start while another operation is in progress",
    raw: (w) => ({ method: "POST", path: `/cvms/${w.app("status-zoo").cvms.find((c) => c.status === "starting")?.id ?? ""}/start` }),
    call: async (w) => {
      const cvm = w.app("single-ethereum").cvms[0]
      expect((await safeStopCvm(w.client, { id: cvm?.id ?? "" })).success).toBe(true)
      return safeStartCvm(w.client, { id: cvm?.id ?? "" })
    },
    expected: { class: BusinessError, notClass: ResourceError, status: 409, message: "Another operation in progress", conflict: true }
  },
  {
    name: "page 0 (FastAPI validation)",
    raw: () => ({ method: "GET", path: "/apps?page=0" }),
    call: (w) => w.client.safeGet("/apps", { params: { page: 0 } }),
    expected: { class: ValidationError, status: 422, fields: ["page"] }
  },
  {
    name: "a page that is not an integer and a page size over 100",
    raw: () => ({ method: "GET", path: "/apps?page=x&page_size=101" }),
    call: (w) => w.client.safeGet("/apps", { params: { page: "x", page_size: 101 } }),
    expected: { class: ValidationError, status: 422, fields: ["page", "page_size"] }
  }
]

/** Faults the simulator injects on `GET /apps/{app_id}`: the SDK must not take them for an answer. */
const faults = [
  { name: "503", faults: { statuses: [503] }, class: ServerError, status: 503 },
  { name: "500", faults: { statuses: [500] }, class: ServerError, status: 500, message: "An unexpected error occurred" },
  { name: "502 nginx page", faults: { statuses: [502] }, class: ServerError, status: 502 },
  { name: "429 with Retry-After", faults: { rate_limit: { count: 1, retry_after: "2" } }, class: BusinessError, status: 429, message: "Rate limit exceeded" }
] as const

describe(`error bodies as @phala/cloud sees them (${SCENARIO})`, () => {
  const running = simulatorFor(SCENARIO)

  const worldFor = async (version: (typeof sdkVersions)[number]): Promise<World> => {
    const { sim, key } = running()
    const apps = await freshWorld(sim)
    const app = (name: string): SimApp => {
      const found = apps.find((a) => a.name === name)
      if (found === undefined) throw new Error(`${SCENARIO} has no app ${name}`)
      return found
    }
    return { sim, client: sdkClient(sim, version, key), app }
  }

  describe.each(sdkVersions)("%s", (version) => {
    it.each(cases)("$name", async (c) => {
      const w = await worldFor(version)
      const outcome = await c.call(w, version)
      expect(outcome.success).toBe(false)
      const error = outcome.success ? null : outcome.error
      expect(error).toBeInstanceOf(c.expected.class)
      if (c.expected.notClass !== undefined) expect(error).not.toBeInstanceOf(c.expected.notClass)
      if (!(error instanceof PhalaCloudError)) return
      expect(error.status).toBe(c.expected.status)
      if (c.expected.message !== undefined) expect(error.message).toBe(c.expected.message)
      if (c.expected.errorCode !== undefined) expect(error).toHaveProperty("errorCode", c.expected.errorCode)
      if (c.expected.conflict !== undefined) expect(isConflictError(error)).toBe(c.expected.conflict)
      if (c.expected.fields !== undefined) {
        expect(error).toBeInstanceOf(ValidationError)
        if (error instanceof ValidationError) expect(error.validationErrors.map((e) => e.field)).toEqual(c.expected.fields)
      }
      if (c.raw !== undefined) {
        const raw = c.raw(w)
        const rawClient = raw.apiKey === undefined ? w.client : sdkClient(w.sim, version, raw.apiKey)
        const response = await rawClient.requestFull(raw.path, { method: raw.method })
        expect(response.status).toBe(c.expected.status)
        expect(ApiErrorSchema.safeParse(response.data).success, JSON.stringify(response.data)).toBe(true)
      }
    })

    it.each(faults)("fault $name on GET /apps/{app_id} is the SDK's error too", async (f) => {
      const w = await worldFor(version)
      const app = w.app("single-ethereum")
      await admin(w.sim, "PUT", `/_sim/apps/${app.app_id}/faults`, f.faults)
      const outcome = await safeGetAppInfo(w.client, { appId: app.app_id })
      expect(outcome.success).toBe(false)
      const error = outcome.success ? null : outcome.error
      expect(error).toBeInstanceOf(f.class)
      expect(error).toHaveProperty("status", f.status)
      if ("message" in f) expect(error).toHaveProperty("message", f.message)
      // the fault is spent: the next read is an answer again
      expect((await safeGetAppInfo(w.client, { appId: app.app_id })).success).toBe(true)
    })

    it("faults on the lifecycle endpoints are the SDK's errors a real answer gets, then the CVM acts", async () => {
      const w = await worldFor(version)
      const app = w.app("single-ethereum")
      const cvm = app.cvms[0]
      if (cvm === undefined) throw new Error("single-ethereum has no CVM")
      await admin(w.sim, "PUT", `/_sim/apps/${app.app_id}/faults`, { actions: [409, 403, 404] })
      const expected = [
        { class: BusinessError, status: 409, message: "Another operation in progress", conflict: true },
        { class: AuthError, status: 403, message: "CVM not in workspace", conflict: false },
        { class: ResourceError, status: 404, message: "The requested CVM was not found", conflict: false }
      ]
      for (const e of expected) {
        const outcome = await safeStartCvm(w.client, { uuid: cvm.vm_uuid })
        const error = outcome.success ? null : outcome.error
        expect(error).toBeInstanceOf(e.class)
        expect(error).toHaveProperty("status", e.status)
        expect(error).toHaveProperty("message", e.message)
        if (error instanceof PhalaCloudError) expect(isConflictError(error)).toBe(e.conflict)
      }
      const done = await safeStopCvm(w.client, { uuid: cvm.vm_uuid })
      expect(done.success).toBe(true)
    })

    it.each([{ fault: "malformed" }, { fault: "wrong_types" }])("a 200 with a $fault body is rejected by the SDK's schema", async ({ fault }) => {
      const w = await worldFor(version)
      const app = w.app("single-ethereum")
      await admin(w.sim, "PUT", `/_sim/apps/${app.app_id}/faults`, { [fault]: true })
      const outcome = await safeGetAppInfo(w.client, { appId: app.app_id })
      expect(outcome.success).toBe(false)
      expect(outcome.success ? null : outcome.error).not.toBeInstanceOf(PhalaCloudError)
      expect(outcome.success ? null : outcome.error).toHaveProperty("issues")
    })
  })
})
