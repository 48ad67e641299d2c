/** The Phala Cloud API routes the simulator serves: app reads, app listing, CVM lifecycle actions. */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Headers from "@effect/platform/Headers"
import { Duration, Effect, Option, Schema } from "effect"
import type { ApiVersion } from "./Catalog.js"
import * as Responses from "./Responses.js"
import { RequestId } from "./RequestId.js"
import type { SimulatorState } from "./State.js"
import * as World from "./World.js"

const json = (body: Responses.JsonObject, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(body, { status })

export const notFoundResponse = json(Responses.detail("Not Found"), 404)

export type KeyCheck = "valid" | "invalid" | "missing"

export const checkKey = (headers: Headers.Headers, settings: World.Settings): KeyCheck => {
  const key = headers["x-api-key"]?.trim() ?? ""
  if (key === "") return "missing"
  return settings.apiKeys === null || settings.apiKeys.has(key) ? "valid" : "invalid"
}

const authFailure = (check: KeyCheck): HttpServerResponse.HttpServerResponse | null =>
  check === "missing"
    ? json(Responses.detail("Authentication required"), 401)
    : check === "invalid"
    ? json(Responses.detail("Invalid API key"), 401)
    : null

const header = (headers: Headers.Headers, name: string): string | null => headers[name] ?? null

const pathParam = (name: string) => Effect.map(HttpRouter.params, (params) => params[name] ?? "")

// == GET /api/v1/apps/{app_id}

const injectedStatus = (status: number) => {
  const { body, contentType } = Responses.faultStatusBody(status)
  return HttpServerResponse.text(body, { status, contentType })
}

const statusFault = (action: Extract<World.FaultAction, { readonly _tag: "Status" | "RateLimited" }>) => {
  const response = action._tag === "Status" ? injectedStatus(action.status) : json(Responses.detail("Rate limit exceeded"), 429)
  return action.retryAfter === null ? response : HttpServerResponse.setHeader(response, "retry-after", action.retryAfter)
}

const faultResponse = (action: World.FaultAction, app: World.AppRecord, version: ApiVersion, seed: number) => {
  switch (action._tag) {
    case "Status":
    case "RateLimited":
      return statusFault(action)
    case "Malformed":
      return HttpServerResponse.text(Responses.malformedBody(app), { contentType: "application/json" })
    case "WrongTypes":
      return json(Responses.wrongTypesBody(app, version, seed))
    case "Hang":
    case "None":
      return null
  }
}

const getApp = (state: SimulatorState) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const appId = yield* pathParam("app_id")
    const world = yield* state.current
    const denied = authFailure(checkKey(request.headers, world.settings))
    if (denied !== null) return denied
    if (!world.apps.has(appId)) return json(Responses.detail("App not found"), 404)

    const decision = yield* state.modify((w) => World.takeFault(w, appId))
    if (decision.latencyMs !== null) yield* Effect.sleep(Duration.millis(decision.latencyMs))
    if (decision.action._tag === "Hang") return yield* Effect.never

    // re-read: the app may have changed (or gone) while the latency elapsed
    const now = yield* state.current
    const app = now.apps.get(appId)
    if (app === undefined) return json(Responses.detail("App not found"), 404)
    const version = Responses.appReadVersion(app, header(request.headers, "x-phala-version"), now.settings)
    const faulted = faultResponse(decision.action, app, version, now.settings.seed)
    if (faulted !== null) return faulted
    if (app.forbidden) return json(Responses.detail("You do not have permission to perform this action"), 403)
    return json(Responses.appBody(app, version, now.settings.seed))
  })

// == GET /api/v1/apps

const QueryValue = Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String)))

const ListQuery = Schema.Struct({
  page: QueryValue,
  page_size: QueryValue,
  search: QueryValue,
  status: QueryValue,
  region: QueryValue,
  instance_type: QueryValue,
  node: QueryValue,
  base_image: QueryValue,
  kms_type: QueryValue,
  kms_slug: QueryValue,
  listed: QueryValue
})
type ListQuery = typeof ListQuery.Type
type QueryValue = ListQuery["page"]

// FastAPI takes the last occurrence of a scalar parameter
const last = (value: QueryValue): string | undefined => (typeof value === "string" ? value : value?.[value.length - 1])
const all = (value: QueryValue): ReadonlyArray<string> => (value === undefined ? [] : typeof value === "string" ? [value] : value)

type IntCheck = { readonly value: number } | { readonly issue: Responses.ValidationIssue }

/** Pydantic v2's integer parsing and bound checks, with its messages. */
const queryInt = (name: string, raw: string | undefined, fallback: number, ge: number, le: number | null): IntCheck => {
  if (raw === undefined) return { value: fallback }
  const loc = ["query", name]
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) {
    return {
      issue: { loc, msg: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing", input: raw }
    }
  }
  const value = Number.parseInt(raw, 10)
  if (value < ge) {
    return {
      issue: { loc, msg: `Input should be greater than or equal to ${ge}`, type: "greater_than_equal", input: raw, ctx: { ge } }
    }
  }
  if (le !== null && value > le) {
    return { issue: { loc, msg: `Input should be less than or equal to ${le}`, type: "less_than_equal", input: raw, ctx: { le } } }
  }
  return { value }
}

const matchesFilters = (app: World.AppRecord, q: ListQuery): boolean => {
  const search = last(q.search)?.trim().toLowerCase()
  if (search !== undefined && search !== "") {
    const haystack = [app.name, app.appId, ...app.cvms.flatMap((c) => [c.vmUuid, c.instanceId ?? ""])]
    if (!haystack.some((s) => s.toLowerCase().includes(search))) return false
  }
  const kmsType = last(q.kms_type)
  if (kmsType !== undefined && app.kmsType !== kmsType) return false
  const statuses = all(q.status).map((s) => s.toLowerCase())
  const cvmChecks: ReadonlyArray<(c: World.CvmRecord) => boolean> = [
    ...(statuses.length === 0 ? [] : [(c: World.CvmRecord) => statuses.includes(c.status.toLowerCase())]),
    ...[
      ["region", (c: World.CvmRecord) => c.region] as const,
      ["instance_type", (c: World.CvmRecord) => c.instanceType] as const,
      ["node", (c: World.CvmRecord) => c.node] as const,
      ["base_image", (c: World.CvmRecord) => c.baseImage] as const,
      ["kms_slug", (c: World.CvmRecord) => c.kmsSlug] as const,
      ["listed", (c: World.CvmRecord) => String(c.listed)] as const
    ].flatMap(([key, get]) => {
      const wanted = last(q[key])
      return wanted === undefined ? [] : [(c: World.CvmRecord) => get(c) === wanted]
    })
  ]
  return cvmChecks.every((check) => app.cvms.some(check))
}

const listApps = (state: SimulatorState) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const world = yield* state.current
    const denied = authFailure(checkKey(request.headers, world.settings))
    if (denied !== null) return denied
    const query = yield* HttpServerRequest.schemaSearchParams(ListQuery).pipe(Effect.option)
    if (Option.isNone(query)) return json(Responses.detail("Invalid query"), 422)
    const q = query.value
    const page = queryInt("page", last(q.page), 1, 1, null)
    const pageSize = queryInt("page_size", last(q.page_size), 20, 1, 100)
    const issues = [page, pageSize].flatMap((c) => ("issue" in c ? [c.issue] : []))
    if (!("value" in page) || !("value" in pageSize) || issues.length > 0) {
      return json(Responses.validationError(issues), 422)
    }
    const decision = yield* state.modify((w) => World.takeListFault(w, page.value))
    if (decision.latencyMs !== null) yield* Effect.sleep(Duration.millis(decision.latencyMs))
    if (decision.action._tag === "Hang") return yield* Effect.never
    const fault = listFaultResponse(decision.action, page.value, pageSize.value)
    if (fault !== null) return fault
    // read after the latency: the workspace may have changed meanwhile, as a real listing would show
    const now = yield* state.current
    const matching = [...now.apps.values()].filter((a) => !a.forbidden && matchesFilters(a, q))
    const start = (page.value - 1) * pageSize.value
    const version = Responses.requestedVersion(header(request.headers, "x-phala-version"), now.settings)
    const body = {
      dstack_apps: matching.slice(start, start + pageSize.value).map((app) => Responses.appBody(app, version, now.settings.seed)),
      page: page.value,
      page_size: pageSize.value,
      total: matching.length,
      total_pages: Math.ceil(matching.length / pageSize.value)
    }
    yield* state.modify(World.shiftAfterPage(page.value))
    return json(body)
  })

const listFaultResponse = (action: World.FaultAction, page: number, pageSize: number) => {
  switch (action._tag) {
    case "Status":
    case "RateLimited":
      return statusFault(action)
    case "Malformed":
      return HttpServerResponse.text(Responses.malformedListBody(page), { contentType: "application/json" })
    case "WrongTypes":
      return json(Responses.wrongTypesListBody(page, pageSize))
    case "Hang":
    case "None":
      return null
  }
}

// == POST /api/v1/cvms/{cvm_id}/{action}

/** What the reference says each status means on a lifecycle endpoint (§4.1, §4.2). */
const actionFaultResponse = (fault: World.StatusFault, action: World.LifecycleAction, requestId: string) => {
  const { status } = fault
  const response = status === 409
    ? json(Responses.detail("Another operation in progress"), 409)
    : status === 403
    ? json(Responses.detail(action === "start" ? "CVM not in workspace" : "CVM managed by on-demand GPU rental"), 403)
    : status === 404
    ? json(Responses.structuredError("ERR-03-001", "The requested CVM was not found", requestId), 404)
    : status === 400
    ? json(Responses.detail("Insufficient balance. You need at least $1 to launch a CVM."), 400)
    : status === 500 && action === "start"
    ? json(Responses.detail("GPU allocation failed"), 500)
    : (() => {
      const { body, contentType } = Responses.faultStatusBody(status)
      return HttpServerResponse.text(body, { status, contentType })
    })()
  return fault.retryAfter === null ? response : HttpServerResponse.setHeader(response, "retry-after", fault.retryAfter)
}

const isAction = (text: string): text is World.LifecycleAction =>
  (World.lifecycleActions as ReadonlyArray<string>).includes(text)

const lifecycle = (state: SimulatorState) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const requestId = yield* RequestId
    const cvmRef = yield* pathParam("cvm_id")
    const action = yield* pathParam("action")
    if (!isAction(action)) return notFoundResponse
    const settings = (yield* state.current).settings
    const denied = authFailure(checkKey(request.headers, settings))
    if (denied !== null) return denied
    const result = yield* state.modify((world, now) => World.lifecycle(world, cvmRef, action, now))
    switch (result._tag) {
      case "NotFound":
        return json(Responses.structuredError("ERR-03-001", "The requested CVM was not found", requestId), 404)
      case "Ambiguous":
        return json(Responses.structuredError("ERR-03-010", "Multiple CVMs match this identifier", requestId), 409)
      case "Conflict":
        return json(Responses.detail("Another operation in progress"), 409)
      case "Fault":
        return actionFaultResponse(result.fault, action, requestId)
      case "Found": {
        const version = Responses.requestedVersion(header(request.headers, "x-phala-version"), settings)
        return json(Responses.vmBody(result.cvm, version, settings.seed))
      }
    }
  })

export const apiRouter = (state: SimulatorState) =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/api/v1/apps", listApps(state)),
    HttpRouter.get("/api/v1/apps/:app_id", getApp(state)),
    HttpRouter.post("/api/v1/cvms/:cvm_id/:action", lifecycle(state))
  )
