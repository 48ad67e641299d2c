import { Duration, Effect, Either } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib"
import { Agent } from "undici"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ApiAnswer, asApiGet, type TransportFailure } from "../../src/Cloud/ApiTransport.js"
import { dispatchExchange } from "../../src/Cloud/UndiciExchange.js"

type Route = (req: IncomingMessage, res: ServerResponse) => void

const routes = new Map<string, Route>()
const seen: Array<Record<string, string | Array<string> | undefined>> = []
let closedEarly = 0
let server: Server
let base = ""
const agent = new Agent()

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers)
    res.on("close", () => {
      if (!res.writableFinished) closedEarly += 1
    })
    const route = routes.get(req.url ?? "")
    if (route === undefined) {
      res.writeHead(404).end()
      return
    }
    route(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await agent.close()
})

const headers = { "X-API-Key": "phak_exchange_unit", "Accept-Encoding": "gzip, deflate, br" }
const exchange = dispatchExchange(agent, headers)

const get = (path: string, limit = 1024 * 1024, timeout: Duration.Duration | null = Duration.seconds(5)) =>
  Effect.runPromise(Effect.either(asApiGet(exchange, timeout)(`${base}${path}`, () => limit)))

const answerOf = (outcome: Either.Either<ApiAnswer, TransportFailure | { readonly _tag: "TimeoutException" }>): ApiAnswer => {
  if (Either.isLeft(outcome)) throw new Error(`expected an answer, got ${outcome.left._tag}`)
  return outcome.right
}

const json = JSON.stringify({ app_id: "x".repeat(40), name: "ok", cvms: [] })

describe("an API read on undici's dispatcher", () => {
  it("answers status, headers (any case) and the body, with the client's headers sent", async () => {
    routes.set("/plain", (_req, res) => res.writeHead(200, { "content-type": "application/json", "x-multi": ["a", "b"] }).end(json))
    const answer = answerOf(await get("/plain"))
    expect(answer).toMatchObject({ url: `${base}/plain`, status: 200, body: { _tag: "Complete", text: json } })
    expect(answer.headers.get("Content-Type")).toBe("application/json")
    expect(answer.headers.get("x-multi")).toBe("a, b")
    expect(answer.headers.get("retry-after")).toBeNull()
    expect(seen.at(-1)).toMatchObject({ "x-api-key": "phak_exchange_unit", "accept-encoding": "gzip, deflate, br" })
  })

  it("inflates gzip, deflate and br bodies, and reads a coding it does not know as sent", async () => {
    routes.set("/gzip", (_req, res) => res.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync(json)))
    routes.set("/deflate", (_req, res) => res.writeHead(200, { "content-encoding": "deflate" }).end(deflateSync(json)))
    routes.set("/br", (_req, res) => res.writeHead(200, { "content-encoding": "br" }).end(brotliCompressSync(json)))
    routes.set("/odd", (_req, res) => res.writeHead(200, { "content-encoding": "x-unheard-of" }).end("raw"))
    for (const path of ["/gzip", "/deflate", "/br"]) expect(answerOf(await get(path)).body).toStrictEqual({ _tag: "Complete", text: json })
    expect(answerOf(await get("/odd")).body).toStrictEqual({ _tag: "Complete", text: "raw" })
  })

  it("stops a gzip bomb and an endless body at the limit, and the server sees the request go away", async () => {
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024))
    const pump = (res: ServerResponse, chunk: Buffer) => {
      const write = () => {
        while (!res.destroyed) if (!res.write(chunk)) return void res.once("drain", write)
      }
      write()
    }
    routes.set("/bomb", (_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip" })
      pump(res, member)
    })
    routes.set("/endless", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" })
      pump(res, Buffer.alloc(64 * 1024, 0x20))
    })
    const before = closedEarly
    const rss = process.memoryUsage().rss
    expect(answerOf(await get("/bomb")).body).toStrictEqual({ _tag: "TooLarge", limit: 1024 * 1024 })
    expect(answerOf(await get("/endless")).body).toStrictEqual({ _tag: "TooLarge", limit: 1024 * 1024 })
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024)
    for (let i = 0; i < 100 && closedEarly < before + 2; i++) await new Promise((r) => setTimeout(r, 20))
    expect(closedEarly).toBe(before + 2)
  })

  it("hands a redirect back unfollowed, with its Location, within the limit its status allows", async () => {
    routes.set("/moved", (_req, res) => res.writeHead(302, { location: "https://elsewhere.invalid/steal" }).end())
    routes.set("/moved-with-body", (_req, res) => res.writeHead(301, { location: "/x" }).end("see /x"))
    const moved = answerOf(await get("/moved", 0))
    expect(moved.status).toBe(302)
    expect(moved.headers.get("location")).toBe("https://elsewhere.invalid/steal")
    expect(moved.body).toStrictEqual({ _tag: "Complete", text: "" })
    expect(answerOf(await get("/moved-with-body", 0)).body).toStrictEqual({ _tag: "TooLarge", limit: 0 })
    expect(seen.filter((h) => h["x-api-key"] !== undefined).length).toBe(seen.length)
  })

  it("fails RequestError with no connection or a URL fetch would refuse, ResponseError when the body breaks off", async () => {
    const refused = await Effect.runPromise(Effect.either(asApiGet(exchange, null)("http://127.0.0.1:1/apps/x", () => 1024)))
    expect(Either.isLeft(refused) && refused.left._tag).toBe("RequestError")
    const credentials = await Effect.runPromise(Effect.either(asApiGet(exchange, null)(`http://u:p@127.0.0.1:1/apps/x`, () => 1024)))
    expect(Either.isLeft(credentials) && credentials.left._tag).toBe("RequestError")
    routes.set("/cut", (_req, res) => {
      res.writeHead(200, { "content-length": "1000" })
      res.write("{\"app_id\":")
      setTimeout(() => res.destroy(), 20)
    })
    const cut = await get("/cut")
    expect(Either.isLeft(cut) && cut.left._tag).toBe("ResponseError")
  })

  it("times out within its timeout, headers or body, and aborts the request", async () => {
    routes.set("/silent", () => undefined)
    routes.set("/slow-body", (_req, res) => {
      res.writeHead(200)
      res.write("{")
    })
    const before = closedEarly
    for (const path of ["/silent", "/slow-body"]) {
      const started = Date.now()
      const outcome = await get(path, 1024, Duration.millis(150))
      expect(Either.isLeft(outcome) && outcome.left._tag).toBe("TimeoutException")
      expect(Date.now() - started).toBeLessThan(2000)
    }
    for (let i = 0; i < 100 && closedEarly < before + 2; i++) await new Promise((r) => setTimeout(r, 20))
    expect(closedEarly).toBe(before + 2)
  })

  it("aborts when the effect is interrupted", async () => {
    routes.set("/hang", () => undefined)
    const before = closedEarly
    const outcome = await Effect.runPromise(
      Effect.either(Effect.timeout(asApiGet(exchange, null)(`${base}/hang`, () => 1024), Duration.millis(100)))
    )
    expect(Either.isLeft(outcome) && outcome.left._tag).toBe("TimeoutException")
    for (let i = 0; i < 100 && closedEarly < before + 1; i++) await new Promise((r) => setTimeout(r, 20))
    expect(closedEarly).toBe(before + 1)
  })
})
