import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Data, Effect, Layer } from "effect"
import { createServer, type Server, type ServerOptions } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import { ConfigStore } from "../Runtime/ConfigStore.js"
import type { ServerTls } from "../Core/Domain/App.js"
import type { ListenAddress } from "../Core/Domain/ListenAddress.js"
import { authorized, challenge, publicPaths } from "./Auth.js"
import { phalaWebhookRoute } from "./PhalaWebhookRoute.js"
import { router } from "./Routes.js"

export class TlsFilesError extends Data.TaggedError("TlsFilesError")<{ readonly message: string }> {}

/**
 * Node's own limits keep a slow or hostile client from holding the server: the whole request must arrive within
 * 15s (headers within 10s, at most 16 KiB of them), idle sockets close after 30s. Only the webhook reads a request body
 * (at most 64 KiB, through a bounded reader).
 * Node checks the first two only every `connectionsCheckingInterval` (30s by default, letting a slowloris client
 * hold a connection for up to 40s): every 2s keeps them close to what they say.
 */
const limits: ServerOptions = {
  requestTimeout: 15_000,
  headersTimeout: 10_000,
  connectionsCheckingInterval: 2_000,
  maxHeaderSize: 16_384,
  keepAliveTimeout: 5_000
}

const pathOf = (url: string): string => {
  const q = url.indexOf("?")
  return q < 0 ? url : url.slice(0, q)
}

/** Every endpoint but the probes (`publicPaths`) needs the configured credentials; read per request so a reload applies. */
const withAuth = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const { auth } = (yield* (yield* ConfigStore).current).server
    if (auth === null || publicPaths.has(pathOf(request.url)) || authorized(auth, request.headers["authorization"])) {
      return yield* app
    }
    return HttpServerResponse.text("unauthorized\n", { status: 401, headers: { "www-authenticate": challenge(auth) } })
  })

/**
 * The webhook path exists only while `server.phala_webhook` is set (read per request, so a reload applies) and is
 * not behind `server.auth`: Phala Cloud cannot send our credentials, and the event carries its own signature.
 */
const withPhalaWebhook = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const { phalaWebhook } = (yield* (yield* ConfigStore).current).server
    return phalaWebhook !== null && pathOf(request.url) === phalaWebhook.path
      ? yield* phalaWebhookRoute(phalaWebhook)
      : yield* app
  })

const app = withPhalaWebhook(withAuth(router)).pipe(
  Effect.catchTag("RouteNotFound", () => HttpServerResponse.text("not found\n", { status: 404 })),
  Effect.catchAllCause((cause) =>
    Effect.logError("request failed", cause).pipe(Effect.as(HttpServerResponse.text("internal error\n", { status: 500 })))
  )
)

const nodeServer = (tls: ServerTls | null) =>
  Effect.gen(function*() {
    if (tls === null) return () => createServer(limits)
    const fs = yield* FileSystem.FileSystem
    const read = (path: string, what: string) =>
      fs.readFile(path).pipe(Effect.mapError(() => new TlsFilesError({ message: `server.tls: cannot read ${what} ${path}` })))
    const cert = yield* read(tls.certFile, "certificate")
    const key = yield* read(tls.keyFile, "key")
    return () => createHttpsServer({ ...limits, cert: Buffer.from(cert), key: Buffer.from(key) })
  })

/**
 * Connections the kernel queues before they are accepted (Node's default is 511): a burst of a thousand scrapes must
 * wait in the queue, not have its SYNs dropped and retried for seconds. The kernel caps it at net.core.somaxconn.
 */
const acceptBacklog = 4096

/** Requests in flight at shutdown get this long to finish before their connections are cut. */
const shutdownGrace = 200

/**
 * Stop listening, then cut the connections still open after the grace: a `POST /-/reconcile` waiting on a hung
 * cycle or a client trickling its headers would otherwise hold `server.close()` (and SIGTERM) for as long as it likes.
 */
const closeServer = (server: Server) =>
  Effect.async<void>((resume) => {
    if (!server.listening) return resume(Effect.void)
    const cut = setTimeout(() => server.closeAllConnections(), shutdownGrace)
    server.close(() => {
      clearTimeout(cut)
      resume(Effect.void)
    })
  })

export const httpServerLayer = (address: ListenAddress, tls: ServerTls | null) =>
  Layer.unwrapEffect(
    Effect.map(nodeServer(tls), (make) => {
      const server = make()
      server.setTimeout(30_000)
      const serving = HttpServer.serve(app).pipe(
        HttpServer.withLogAddress,
        Layer.provide(NodeHttpServer.layer(() => server, { host: address.host, port: address.port, backlog: acceptBacklog }))
      )
      // built after the server, so released before it: the platform's own release then finds it closed
      return Layer.scopedDiscard(Effect.addFinalizer(() => closeServer(server))).pipe(Layer.provideMerge(serving))
    })
  )
