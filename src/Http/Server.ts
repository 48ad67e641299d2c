import { HttpServer, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import { router } from "./Routes.js"

export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/**
 * Node's own limits keep a slow or hostile client from holding the server: the whole request must arrive within
 * 15s (headers within 10s, at most 16 KiB of them), idle sockets close after 30s.
 */
const makeNodeServer = () => {
  const server = createServer({ requestTimeout: 15_000, headersTimeout: 10_000, maxHeaderSize: 16_384, keepAliveTimeout: 5_000 })
  server.setTimeout(30_000)
  return server
}

const app = router.pipe(
  Effect.catchTag("RouteNotFound", () => HttpServerResponse.text("not found\n", { status: 404 })),
  Effect.catchAllCause((cause) =>
    Effect.logError("request failed", cause).pipe(Effect.as(HttpServerResponse.text("internal error\n", { status: 500 })))
  )
)

export const httpServerLayer = (address: ListenAddress) =>
  HttpServer.serve(app).pipe(
    HttpServer.withLogAddress,
    Layer.provide(NodeHttpServer.layer(makeNodeServer, { host: address.host, port: address.port }))
  )

