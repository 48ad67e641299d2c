/** The unauthenticated `/_sim/` admin API: inspect and change the simulated world at run time. */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Clock, Effect, ParseResult, Schema } from "effect"
import * as Responses from "./Responses.js"
import { AppSpec, CvmAttributes, CvmSpec, FaultsSpec, ListSpec, Then, WebhookTargetSpec } from "./Scenario.js"
import type { SimulatorState } from "./State.js"
import * as World from "./World.js"

const json = (body: unknown, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(body, { status })

const badRequest = (message: string) => json(Responses.detail(message), 400)

/** Decodes the JSON body; a body that is not JSON or does not fit the schema becomes a 400 naming the problem. */
const body = <A, I>(schema: Schema.Schema<A, I>) =>
  HttpServerRequest.schemaBodyJson(schema, { errors: "all", onExcessProperty: "error" }).pipe(
    Effect.mapError((error) =>
      badRequest(
        error._tag === "ParseError"
          ? `invalid body: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
          : "invalid body: expected a JSON document"
      )
    )
  )

const param = (name: string) => Effect.map(HttpRouter.params, (params) => params[name] ?? "")

const respond = <A>(result: World.AdminResult<A>, onOk: (a: A) => HttpServerResponse.HttpServerResponse) => {
  switch (result._tag) {
    case "Ok":
      return onOk(result.value)
    case "NotFound":
      return json(Responses.detail(result.message), 404)
    case "Conflict":
      return json(Responses.detail(result.message), 409)
  }
}

const noContent = () => HttpServerResponse.empty({ status: 204 })

const StatusBody = Schema.Struct({
  status: Schema.String.pipe(Schema.minLength(1)),
  then: Schema.optionalWith(Then, { exact: true })
})

const WebhooksBody = Schema.Struct({ webhooks: Schema.Array(WebhookTargetSpec) })

const RequestsQuery = Schema.Struct({ app_id: Schema.optional(Schema.String) })

export const adminRouter = (state: SimulatorState) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/_sim/state",
      Effect.gen(function*() {
        const world = yield* state.current
        return json(Responses.worldView(world, yield* Clock.currentTimeMillis))
      })
    ),
    HttpRouter.put(
      "/_sim/apps/:app_id/cvms/:vm_uuid/status",
      Effect.merge(Effect.gen(function*() {
        const input = yield* body(StatusBody)
        const appId = yield* param("app_id")
        const vmUuid = yield* param("vm_uuid")
        const result = yield* state.modify(World.setStatus(appId, vmUuid, input.status, input.then ?? null))
        return respond(result, (cvm) => json(Responses.cvmView(cvm)))
      }))
    ),
    HttpRouter.patch(
      "/_sim/apps/:app_id/cvms/:vm_uuid",
      Effect.merge(Effect.gen(function*() {
        const input = yield* body(CvmAttributes)
        const appId = yield* param("app_id")
        const vmUuid = yield* param("vm_uuid")
        const result = yield* state.modify(World.patchCvm(appId, vmUuid, input))
        return respond(result, (cvm) => json(Responses.cvmView(cvm)))
      }))
    ),
    HttpRouter.post(
      "/_sim/apps/:app_id/cvms",
      Effect.merge(Effect.gen(function*() {
        const input = yield* body(CvmSpec)
        const appId = yield* param("app_id")
        const result = yield* state.modify(World.addCvm(appId, input))
        return respond(result, (cvm) => json(Responses.cvmView(cvm), 201))
      }))
    ),
    HttpRouter.del(
      "/_sim/apps/:app_id/cvms/:vm_uuid",
      Effect.gen(function*() {
        const appId = yield* param("app_id")
        const vmUuid = yield* param("vm_uuid")
        return respond(yield* state.modify(World.removeCvm(appId, vmUuid)), noContent)
      })
    ),
    HttpRouter.post(
      "/_sim/apps",
      Effect.merge(Effect.gen(function*() {
        const input = yield* body(AppSpec)
        return respond(yield* state.modify(World.addApp(input)), (app) => json(Responses.appView(app), 201))
      }))
    ),
    HttpRouter.del(
      "/_sim/apps/:app_id",
      Effect.gen(function*() {
        const appId = yield* param("app_id")
        return respond(yield* state.modify(World.removeApp(appId)), noContent)
      })
    ),
    HttpRouter.put(
      "/_sim/apps/:app_id/faults",
      Effect.merge(Effect.gen(function*() {
        const input = yield* body(FaultsSpec)
        const appId = yield* param("app_id")
        const result = yield* state.modify(World.setFaults(appId, World.faultsFrom(input)))
        return respond(result, (faults) => json(Responses.faultsView(faults)))
      }))
    ),
    HttpRouter.del(
      "/_sim/apps/:app_id/faults",
      Effect.gen(function*() {
        const appId = yield* param("app_id")
        return respond(yield* state.modify(World.setFaults(appId, World.noFaults)), noContent)
      })
    ),
    HttpRouter.put(
      "/_sim/list",
      Effect.merge(Effect.gen(function*() {
        const input = yield* body(ListSpec)
        return respond(yield* state.modify(World.setListBehaviour(World.listBehaviourFrom(input))), noContent)
      }))
    ),
    HttpRouter.del(
      "/_sim/list",
      Effect.flatMap(state.modify(World.setListBehaviour(World.noListBehaviour)), () => Effect.succeed(noContent()))
    ),
    HttpRouter.get(
      "/_sim/requests",
      Effect.gen(function*() {
        const query = yield* HttpServerRequest.schemaSearchParams(RequestsQuery).pipe(Effect.orElseSucceed(() => ({ app_id: undefined })))
        const entries = state.requests.list()
        return json({
          requests: query.app_id === undefined ? entries : entries.filter((e) => e.app_id === query.app_id),
          capacity: state.requests.capacity
        })
      })
    ),
    HttpRouter.get(
      "/_sim/webhooks",
      Effect.sync(() =>
        json({ webhooks: state.webhooks.targets.map((t) => ({ url: t.url })), deliveries: state.webhooks.deliveries() })
      )
    ),
    HttpRouter.put(
      "/_sim/webhooks",
      Effect.merge(Effect.gen(function*() {
        const input = yield* body(WebhooksBody)
        state.webhooks.targets = input.webhooks.map((w) => ({ url: w.url, secret: w.secret }))
        state.webhooks.clear()
        return json({ webhooks: state.webhooks.targets.map((t) => ({ url: t.url })) })
      }))
    ),
    HttpRouter.del("/_sim/requests", Effect.sync(() => state.requests.clear()).pipe(Effect.as(noContent()))),
    HttpRouter.post("/_sim/reset", state.reset.pipe(Effect.as(noContent())))
  )
