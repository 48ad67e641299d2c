/**
 * HTTP plumbing: `@effect/platform`'s HttpRouter on `NodeHttpServer.make`. We hand it our own `node:http` server so
 * the scope can destroy open connections before `server.close()`, which would otherwise wait forever for a request
 * held by the `hang` fault.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Cause, Clock, Effect, Exit, type Scope } from "effect"
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import { formatHostPort } from "../Core/Domain/ListenAddress.js"
import { adminRouter } from "./Admin.js"
import { apiRouter, checkKey, notFoundResponse } from "./Api.js"
import { SimulatorError } from "./Errors.js"
import * as Responses from "./Responses.js"
import { RequestId } from "./RequestId.js"
import type { SimulatorState } from "./State.js"
import * as World from "./World.js"

const appIdOf = (world: World.World, path: string): string | null => {
  const app = /^\/api\/v1\/apps\/([^/]+)$/.exec(path)
  if (app?.[1] !== undefined) return decodeURIComponent(app[1])
  const cvm = /^\/api\/v1\/cvms\/([^/]+)\//.exec(path)
  if (cvm?.[1] === undefined) return null
  const found = World.findCvm(world, decodeURIComponent(cvm[1]))
  return found._tag === "Found" ? found.app.appId : null
}

/** Records every API request (not the admin ones) and stamps `X-Request-ID` on the response. */
const withRequestLog = (state: SimulatorState) =>
<R>(app: HttpApp.Default<never, R>): HttpApp.Default<never, Exclude<R, RequestId> | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.url, "http://simulator")
    if (url.pathname.startsWith("/_sim/")) return yield* Effect.provideService(app, RequestId, "")
    const requestId = randomUUID()
    const world = yield* state.current
    const started = yield* Clock.currentTimeMillis
    const entry = state.requests.add({
      at: new Date(started).toISOString(),
      method: request.method,
      path: url.pathname,
      query: url.search,
      app_id: appIdOf(world, url.pathname),
      status: null,
      outcome: "pending",
      duration_ms: null,
      x_phala_version: request.headers["x-phala-version"] ?? null,
      user_agent: request.headers["user-agent"] ?? null,
      accept: request.headers["accept"] ?? null,
      api_key: checkKey(request.headers, world.settings),
      request_id: requestId
    })
    return yield* app.pipe(
      Effect.provideService(RequestId, requestId),
      Effect.map(HttpServerResponse.setHeader("x-request-id", requestId)),
      Effect.onExit((exit) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          entry.duration_ms = now - started
          if (Exit.isSuccess(exit)) {
            entry.status = exit.value.status
            entry.outcome = "responded"
          } else {
            entry.outcome = "aborted"
          }
        })
      )
    )
  })

export const makeApp = (state: SimulatorState) =>
  HttpRouter.concat(apiRouter(state), adminRouter(state)).pipe(
    Effect.catchTag("RouteNotFound", () => Effect.succeed(notFoundResponse)),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.logError("simulator request failed", cause).pipe(
          Effect.as(HttpServerResponse.unsafeJson(Responses.detail("An unexpected error occurred"), { status: 500 }))
        )
    ),
    withRequestLog(state)
  )

export interface Listening {
  readonly port: number
  readonly url: string
}

// a wildcard address is reached on loopback
const reachableHost = (host: string): string => (host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host)

/** Serves the simulator until the scope closes; closing destroys open and hanging connections. */
export const listen = (
  state: SimulatorState,
  options: { readonly host: string; readonly port: number }
): Effect.Effect<Listening, SimulatorError, Scope.Scope> =>
  Effect.gen(function*() {
    const nodeServer = createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { host: options.host, port: options.port }).pipe(
      Effect.mapError((error) =>
        new SimulatorError({
          reason: "listen",
          message: `cannot listen on ${formatHostPort(options.host, options.port)}: ${String(error.cause)}`,
          cause: error
        })
      )
    )
    // registered after the server, so it runs before `server.close()`
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    yield* HttpServer.serveEffect(makeApp(state)).pipe(Effect.provideService(HttpServer.HttpServer, server))
    const port = server.address._tag === "TcpAddress" ? server.address.port : options.port
    return { port, url: `http://${formatHostPort(reachableHost(options.host), port)}` }
  })
