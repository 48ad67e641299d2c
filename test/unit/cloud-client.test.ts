import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Logger, LogLevel, Option, Redacted, TestClock } from "effect"
import { readFileSync } from "node:fs"
import { Events } from "../../src/Runtime/Events.js"
import { PhalaClient } from "../../src/Cloud/PhalaClient.js"
import type { ApiSettings } from "../../src/Core/Domain/App.js"
import { AppNotFound, type FetchFailure, type FetchFailureReason } from "../../src/Core/Domain/Observation.js"
import { userAgent } from "../../src/Support/Version.js"

const appId = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const otherAppId = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
const apiKey = "phak_live_S3cr3tK3y_do_not_leak_0123456789"

const settings: ApiSettings = {
  url: "https://cloud.test/api/v1",
  apiKey: Redacted.make(apiKey),
  apiVersion: "2025-10-28",
  timeout: Duration.seconds(2),
  retries: 3,
  concurrency: 4
}

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/api/${name}`, import.meta.url), "utf8")

// ---- a fake Phala API behind FetchHttpClient.Fetch

type Reply =
  | { readonly status: number; readonly body?: string | ReadableStream<Uint8Array>; readonly headers?: Record<string, string> }
  | { readonly hang: "headers" | "body" }
  | { readonly throws: Error }

interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: Headers
  readonly redirect: RequestRedirect | undefined
}

interface FakeApi {
  readonly fetch: typeof globalThis.fetch
  readonly requests: Array<SeenRequest>
  readonly stats: { aborted: number; inFlight: number; maxInFlight: number }
}

const json = (status: number, body: string, headers: Record<string, string> = {}): Reply => ({
  status,
  body,
  headers: { "content-type": "application/json", ...headers }
})

const ok = json(200, fixture("app-2025-10-28.json"))
/** The same app answered for another id. */
const okFor = (id: string) => json(200, fixture("app-2025-10-28.json").replaceAll(appId, id))
const appNotFound = JSON.stringify({ detail: "App not found" })
const listPage = JSON.stringify({ dstack_apps: [], page: 1, page_size: 1, total: 0, total_pages: 0 })

/** `replies[i]` answers the i-th request (the last one repeats), or a function of the URL and the index. */
const fakeApi = (
  replies: ReadonlyArray<Reply> | ((url: string, index: number) => Reply),
  options: { readonly latencyMs?: number } = {}
): FakeApi => {
  const requests: Array<SeenRequest> = []
  const stats = { aborted: 0, inFlight: 0, maxInFlight: 0 }
  const pick = (url: string, index: number): Reply => {
    if (typeof replies === "function") return replies(url, index)
    const reply = replies[Math.min(index, replies.length - 1)]
    if (reply === undefined) throw new Error("fakeApi needs at least one reply")
    return reply
  }
  const untilAborted = (signal: AbortSignal | null | undefined) =>
    new Promise<never>((_, reject) => {
      signal?.addEventListener("abort", () => {
        stats.aborted++
        reject(signal.reason)
      })
    })
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input)
    const index = requests.push({ method: init?.method ?? "GET", url, headers: new Headers(init?.headers), redirect: init?.redirect }) - 1
    stats.inFlight++
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
    try {
      if (options.latencyMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.latencyMs))
      const reply = pick(url, index)
      if ("throws" in reply) throw reply.throws
      if ("hang" in reply) {
        if (reply.hang === "headers") return await untilAborted(init?.signal)
        // headers arrive, the body never does
        return new Response(new ReadableStream({ start: () => undefined }), { status: 200 })
      }
      return new Response(reply.body ?? "", { status: reply.status, headers: reply.headers ?? {} })
    } finally {
      stats.inFlight--
    }
  }
  return { fetch, requests, stats }
}

const recordingObserver = () => {
  const attempts: Array<{ readonly code: string; readonly seconds: number }> = []
  const layer = Layer.scopedDiscard(Effect.flatMap(Events, (events) =>
    events.subscribe((event) => Effect.sync(() => {
      if (event._tag === "ApiAttempt") attempts.push(event)
    })))).pipe(Layer.provideMerge(Events.Default))
  return { attempts, layer }
}

const clientLayer = (
  api: FakeApi,
  overrides: Partial<ApiSettings> = {},
  observer: Layer.Layer<Events> = Events.Default
) =>
  PhalaClient.layer({ ...settings, ...overrides }).pipe(
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(Layer.succeed(FetchHttpClient.Fetch, api.fetch)),
    Layer.provide(observer)
  )

const getApp = (id: string = appId, options?: { readonly deadline?: number }) =>
  Effect.flatMap(PhalaClient, (client) => client.getApp(id, options))

/** The failure of a getApp call, asserting it is a FetchFailure. */
const fetchFailure = (id: string = appId, options?: { readonly deadline?: number }) =>
  Effect.flatMap(Effect.flip(getApp(id, options)), (error) =>
    error._tag === "FetchFailure" ? Effect.succeed(error) : Effect.dieMessage(`expected FetchFailure, got ${error._tag}`))

/** Runs `effect` in a fiber while the TestClock moves on, so backoff sleeps elapse. */
const withTimePassing = <A, E, R>(effect: Effect.Effect<A, E, R>, by: Duration.DurationInput = "10 minutes") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(by)
    return yield* Fiber.join(fiber)
  })

// ---- tests

describe("PhalaClient request", () => {
  it.effect("sends GET {url}/apps/{app_id} with the key, version, accept and user agent headers", () => {
    const api = fakeApi([ok])
    return Effect.gen(function*() {
      yield* getApp()
      expect(api.requests).toHaveLength(1)
      const [request] = api.requests
      expect(request?.method).toBe("GET")
      expect(request?.url).toBe(`https://cloud.test/api/v1/apps/${appId}`)
      expect(request?.headers.get("x-api-key")).toBe(apiKey)
      expect(request?.headers.get("x-phala-version")).toBe("2026-01-21")
      expect(request?.headers.get("accept")).toBe("application/json")
      expect(request?.headers.get("user-agent")).toBe(userAgent)
      expect(userAgent).toMatch(/^phala-drift\/\d+\.\d+\.\d+/)
    }).pipe(Effect.provide(clientLayer(api, { apiVersion: "2026-01-21", url: "https://cloud.test/api/v1/" })))
  })

  it.effect("returns the same ObservedApp for both response versions", () => {
    const legacy = fakeApi([ok])
    const current = fakeApi([json(200, fixture("app-2026-01-21.json"))])
    return Effect.gen(function*() {
      const fromLegacy = yield* getApp().pipe(Effect.provide(clientLayer(legacy)))
      const fromCurrent = yield* getApp().pipe(Effect.provide(clientLayer(current, { apiVersion: "2026-01-21" })))
      expect(fromLegacy.replicas).toBe(2)
      expect(fromLegacy.cvms.map((cvm) => [cvm.memoryMb, cvm.diskGb, cvm.region, cvm.node, cvm.baseImage])).toStrictEqual([
        [8192, 20, "EU-WEST-1", "prod6", "dstack-0.5.5"],
        [4096, 40, "US-WEST-1", "prod7", "dstack-0.5.4"]
      ])
      expect(fromCurrent).toStrictEqual(fromLegacy)
    })
  })

  it.effect("publishes every attempt as an ApiAttempt event", () => {
    const api = fakeApi([json(503, "{}"), { throws: new TypeError("fetch failed") }, { hang: "headers" }, ok])
    const observer = recordingObserver()
    return Effect.gen(function*() {
      yield* withTimePassing(getApp())
      expect(observer.attempts.map((attempt) => attempt.code)).toStrictEqual(["503", "network", "timeout", "200"])
      expect(observer.attempts.every((attempt) => attempt.seconds >= 0)).toBe(true)
    }).pipe(Effect.provide(clientLayer(api, {}, observer.layer)))
  })
})

describe("PhalaClient failures", () => {
  const cases: ReadonlyArray<readonly [number, FetchFailureReason]> = [
    [400, "client"],
    [401, "auth"],
    [403, "forbidden"],
    [408, "timeout"],
    [409, "client"],
    [422, "client"],
    [429, "rate_limited"],
    [500, "server"],
    [502, "server"],
    [503, "server"],
    [504, "server"]
  ]
  for (const [status, reason] of cases) {
    it.effect(`maps HTTP ${status} to ${reason}`, () => {
      const api = fakeApi([json(status, "{\"detail\":\"nope\"}")])
      return Effect.gen(function*() {
        const failure = yield* fetchFailure()
        expect(failure).toMatchObject({ appId, reason, status, message: `HTTP ${status}: nope` })
      }).pipe(Effect.provide(clientLayer(api, { retries: 0 })))
    })
  }

  it.effect("maps the API's own 404 to AppNotFound once a probe confirmed the base URL, without retrying", () => {
    const api = fakeApi((url) => (url.includes("/apps?") ? json(200, listPage) : json(404, appNotFound)))
    return Effect.gen(function*() {
      const error = yield* withTimePassing(Effect.flip(getApp()))
      expect(error).toStrictEqual(new AppNotFound({ appId }))
      expect(api.requests.map((request) => request.url)).toStrictEqual([
        `https://cloud.test/api/v1/apps/${appId}`,
        "https://cloud.test/api/v1/apps?page=1&page_size=1"
      ])
    }).pipe(Effect.provide(clientLayer(api)))
  })

  for (const status of [400, 401, 403, 409, 422]) {
    it.effect(`does not retry HTTP ${status}`, () => {
      const api = fakeApi([json(status, "{}"), ok])
      return Effect.gen(function*() {
        yield* withTimePassing(fetchFailure())
        expect(api.requests).toHaveLength(1)
      }).pipe(Effect.provide(clientLayer(api, { retries: 3 })))
    })
  }

  it.effect("puts the API's error text in the message, for every known error body", () => {
    const replies = [
      json(401, fixture("error-detail-string.json")),
      json(403, fixture("error-detail-object.json")),
      json(422, fixture("error-validation-422.json")),
      json(400, fixture("error-structured.json")),
      json(502, "<html><body>Bad Gateway</body></html>", { "content-type": "text/html" }),
      json(500, "")
    ]
    const api = fakeApi((_, index) => replies[index] ?? ok)
    return Effect.gen(function*() {
      const messages: Array<string> = []
      for (let i = 0; i < replies.length; i++) messages.push((yield* fetchFailure()).message)
      expect(messages).toStrictEqual([
        "HTTP 401: Authentication required",
        "HTTP 403: You do not have access to this workspace",
        "HTTP 422: app_id: String should match pattern '^[0-9a-f]{40}$'",
        "HTTP 400: Insufficient balance. You need at least $1 to launch a CVM. (ERR-04-001)",
        "HTTP 502",
        "HTTP 500"
      ])
    }).pipe(Effect.provide(clientLayer(api, { retries: 0 })))
  })

  it.effect("truncates long error texts to about 200 characters", () => {
    const api = fakeApi([json(400, JSON.stringify({ detail: "x".repeat(5000) }))])
    return Effect.gen(function*() {
      const failure = yield* withTimePassing(fetchFailure())
      expect(failure.message.startsWith("HTTP 400: xxx")).toBe(true)
      expect(failure.message.length).toBeLessThanOrEqual(200)
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("reports malformed JSON as bad_response, without retrying", () => {
    const api = fakeApi([json(200, "{\"app_id\": \"2a7b"), ok])
    return Effect.gen(function*() {
      const failure = yield* withTimePassing(fetchFailure())
      expect(failure).toMatchObject({ reason: "bad_response", status: 200, message: "HTTP 200: invalid JSON" })
      expect(api.requests).toHaveLength(1)
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("reports a body with wrong types as bad_response naming the field, without retrying", () => {
    const api = fakeApi([json(200, fixture("app-cvms-oops.json")), ok])
    return Effect.gen(function*() {
      const failure = yield* withTimePassing(fetchFailure())
      expect(failure.reason).toBe("bad_response")
      expect(failure.message).toMatch(/^HTTP 200: unexpected body: cvms: Expected .*actual "oops"$/)
      expect(api.requests).toHaveLength(1)
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("reports transport errors as network, with the underlying cause, after retries", () => {
    const refused = new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:8787") })
    const api = fakeApi([{ throws: refused }])
    return Effect.gen(function*() {
      const failure = yield* withTimePassing(fetchFailure())
      expect(failure).toMatchObject({ reason: "network", status: null })
      expect(failure.message).toBe("network error: fetch failed (connect ECONNREFUSED 127.0.0.1:8787) (3 attempts)")
      expect(api.requests).toHaveLength(3)
    }).pipe(Effect.provide(clientLayer(api, { retries: 2 })))
  })
})

describe("PhalaClient retries", () => {
  it.effect("retries a 503 and then succeeds", () => {
    const api = fakeApi([json(503, "{\"detail\":\"Service Unavailable\"}"), ok])
    return Effect.gen(function*() {
      const app = yield* withTimePassing(getApp(), "1 second")
      expect(app.replicas).toBe(2)
      expect(api.requests).toHaveLength(2)
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("retries transient statuses up to `retries` times, then fails with the last failure", () => {
    const statuses = [500, 502, 504, 429]
    const api = fakeApi((_, index) => json(statuses[index] ?? 503, "{}"))
    return Effect.gen(function*() {
      const failure = yield* withTimePassing(fetchFailure())
      expect(api.requests).toHaveLength(4)
      expect(failure).toMatchObject({ reason: "rate_limited", status: 429, message: "HTTP 429 (4 attempts)" })
    }).pipe(Effect.provide(clientLayer(api, { retries: 3 })))
  })

  it.effect("backs off exponentially between attempts", () => {
    const api = fakeApi([json(500, "{}")])
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(getApp())
      const counts: Array<number> = []
      // delays of 250, 500, 1000 ms jittered by ±20% put the retries in [200, 300], [600, 900], [1400, 2100] ms
      for (const at of [150, 350, 550, 950, 1350, 2150]) {
        yield* TestClock.setTime(at)
        counts.push(api.requests.length)
      }
      expect(counts).toStrictEqual([1, 2, 2, 3, 3, 4])
      yield* Effect.flip(Fiber.join(fiber))
    }).pipe(Effect.provide(clientLayer(api, { retries: 3 })))
  })

  it.effect("waits Retry-After seconds on a 429 instead of the backoff", () => {
    const api = fakeApi([json(429, "{\"detail\":\"Rate limit exceeded\"}", { "retry-after": "5" }), ok])
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(getApp())
      yield* TestClock.adjust("4900 millis")
      expect(api.requests).toHaveLength(1)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("200 millis")
      expect((yield* Fiber.join(fiber)).replicas).toBe(2)
      expect(api.requests).toHaveLength(2)
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("waits until a Retry-After HTTP-date on a 503", () => {
    // the TestClock starts at the epoch
    const retryAt = new Date(7_000).toUTCString()
    const api = fakeApi([json(503, "{}", { "retry-after": retryAt }), ok])
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(getApp())
      yield* TestClock.adjust("6500 millis")
      expect(api.requests).toHaveLength(1)
      yield* TestClock.adjust("600 millis")
      expect((yield* Fiber.join(fiber)).replicas).toBe(2)
      expect(api.requests).toHaveLength(2)
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("stops retrying when Retry-After would pass the deadline, failing with the current failure", () => {
    const api = fakeApi([json(429, "{\"detail\":\"Rate limit exceeded\"}", { "retry-after": "60" }), ok])
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(fetchFailure(appId, { deadline: 10_000 }))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.poll(fiber)
      expect(Option.isSome(exit)).toBe(true)
      const failure = yield* Fiber.join(fiber)
      expect(failure).toMatchObject({ reason: "rate_limited", status: 429, message: "HTTP 429: Rate limit exceeded" })
      expect(api.requests).toHaveLength(1)
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("still retries within the deadline", () => {
    const api = fakeApi([json(429, "{}", { "retry-after": "5" }), json(503, "{}"), ok])
    return Effect.gen(function*() {
      const app = yield* withTimePassing(getApp(appId, { deadline: 10_000 }), "10 seconds")
      expect(app.replicas).toBe(2)
      expect(api.requests).toHaveLength(3)
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("does not retry past the deadline with plain backoff either", () => {
    const api = fakeApi([json(500, "{}")])
    return Effect.gen(function*() {
      // the first retry (≤ 300 ms) fits before the deadline, the second (≥ 600 ms) does not
      const failure = yield* withTimePassing(fetchFailure(appId, { deadline: 550 }))
      expect(failure.reason).toBe("server")
      expect(api.requests).toHaveLength(2)
    }).pipe(Effect.provide(clientLayer(api, { retries: 5 })))
  })

  it.effect("times out each attempt (aborting the request) and fails with timeout after retries", () => {
    const api = fakeApi([{ hang: "headers" }])
    const observer = recordingObserver()
    return Effect.gen(function*() {
      const failure = yield* withTimePassing(fetchFailure())
      expect(failure).toMatchObject({ reason: "timeout", status: null, message: "no response within 2s (3 attempts)" })
      expect(api.requests).toHaveLength(3)
      expect(api.stats.aborted).toBe(3)
      expect(observer.attempts.map((attempt) => attempt.code)).toStrictEqual(["timeout", "timeout", "timeout"])
    }).pipe(Effect.provide(clientLayer(api, { retries: 2 }, observer.layer)))
  })

  it.effect("counts the body read against the per-attempt timeout", () => {
    const api = fakeApi([{ hang: "body" }])
    return Effect.gen(function*() {
      const failure = yield* withTimePassing(fetchFailure())
      expect(failure.reason).toBe("timeout")
      expect(api.requests).toHaveLength(2)
    }).pipe(Effect.provide(clientLayer(api, { retries: 1 })))
  })
})

describe("PhalaClient concurrency", () => {
  it.effect("keeps at most `concurrency` requests in flight across all callers", () => {
    const api = fakeApi((url) => (url.endsWith(otherAppId) ? okFor(otherAppId) : ok), { latencyMs: 5 })
    return Effect.gen(function*() {
      const ids = Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? appId : otherAppId))
      const apps = yield* Effect.forEach(ids, (id) => getApp(id), { concurrency: "unbounded" })
      expect(apps).toHaveLength(24)
      expect(api.requests).toHaveLength(24)
      expect(api.stats.maxInFlight).toBe(3)
    }).pipe(Effect.provide(clientLayer(api, { concurrency: 3 })))
  })

  it.effect("does not hold a permit while backing off", () => {
    const api = fakeApi((url, index) =>
      url.endsWith(appId) && index === 0 ? json(503, "{}", { "retry-after": "30" }) : url.endsWith(appId) ? ok : okFor(otherAppId)
    )
    return Effect.gen(function*() {
      const slow = yield* Effect.fork(getApp(appId))
      yield* TestClock.adjust("1 second")
      const fast = yield* Effect.fork(getApp(otherAppId))
      yield* TestClock.adjust("1 second")
      const done = yield* Fiber.poll(fast)
      expect(Option.isSome(done) && Exit.isSuccess(done.value)).toBe(true)
      expect(Option.isNone(yield* Fiber.poll(slow))).toBe(true)
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(slow)
    }).pipe(Effect.provide(clientLayer(api, { concurrency: 1 })))
  })
})

describe("PhalaClient secrets", () => {
  const leaks = (failure: FetchFailure): ReadonlyArray<string> =>
    [failure.message, String(failure), JSON.stringify(failure), failure.stack ?? ""].filter((text) =>
      text.includes(apiKey)
    )

  it.effect("never puts the API key in failures, even when the server or the transport echoes it", () => {
    const replies: ReadonlyArray<Reply> = [
      json(401, JSON.stringify({ detail: `Invalid API key: ${apiKey}` })),
      json(200, JSON.stringify({ app_id: appId, cvms: apiKey })),
      { throws: new TypeError(`fetch failed for ${apiKey}`) },
      json(422, JSON.stringify({ detail: [{ loc: ["header", apiKey], msg: apiKey, type: "x" }] })),
      { hang: "headers" }
    ]
    const api = fakeApi((_, index) => replies[index] ?? ok)
    return Effect.gen(function*() {
      const failures: Array<FetchFailure> = []
      for (let i = 0; i < replies.length; i++) failures.push(yield* withTimePassing(fetchFailure()))
      expect(failures.map((failure) => failure.reason)).toStrictEqual(["auth", "bad_response", "network", "client", "timeout"])
      expect(failures[0]?.message).toBe("HTTP 401: Invalid API key: <redacted>")
      expect(failures.flatMap(leaks)).toStrictEqual([])
      // the key was really sent, so the checks above could have found it
      expect(api.requests[0]?.headers.get("x-api-key")).toBe(apiKey)
    }).pipe(Effect.provide(clientLayer(api, { retries: 0 })))
  })

  it.effect("logs retries at debug level with the app id and reason, never the key", () => {
    const lines: Array<string> = []
    const capture = Logger.map(Logger.logfmtLogger, (line) => void lines.push(line))
    const api = fakeApi([json(503, JSON.stringify({ detail: apiKey })), ok])
    return Effect.gen(function*() {
      yield* withTimePassing(getApp())
      const retries = lines.filter((line) => line.includes("retrying"))
      expect(retries).toHaveLength(1)
      expect(retries[0]).toContain("level=DEBUG")
      expect(retries[0]).toContain(`app_id=${appId}`)
      expect(retries[0]).toContain("reason=server")
      expect(lines.filter((line) => line.includes(apiKey))).toStrictEqual([])
    }).pipe(
      Effect.provide(clientLayer(api)),
      Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
  })
})

describe("PhalaClient response size (api.max_response_bytes)", () => {
  /** An endless body in 64 KiB chunks, counting what was pulled and whether the reader cancelled it. */
  const endless = () => {
    const seen = { pulled: 0, cancelled: false }
    const chunk = new Uint8Array(64 * 1024).fill(0x20)
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        seen.pulled += chunk.length
        controller.enqueue(chunk)
      },
      cancel: () => {
        seen.cancelled = true
      }
    })
    return { body, seen }
  }

  it.effect("stops reading past the limit: bad_response, not retried, the stream cancelled", () => {
    const { body, seen } = endless()
    const api = fakeApi([{ status: 200, body }, ok])
    return Effect.gen(function*() {
      const failure = yield* withTimePassing(fetchFailure())
      expect(failure).toMatchObject({
        reason: "bad_response",
        status: 200,
        message: "HTTP 200: body larger than 256 KiB (api.max_response_bytes), reading stopped"
      })
      expect(api.requests).toHaveLength(1)
      expect(seen.cancelled).toBe(true)
      // the reader stopped within a couple of chunks of the limit (the stream may buffer one ahead)
      expect(seen.pulled).toBeLessThanOrEqual(256 * 1024 + 3 * 64 * 1024)
    }).pipe(Effect.provide(clientLayer(api, { maxResponseBytes: 256 * 1024 })))
  })

  it.effect("reads a body of exactly the limit", () => {
    const text = fixture("app-2025-10-28.json")
    const exact = text + " ".repeat(64 * 1024 - Buffer.byteLength(text))
    const api = fakeApi([json(200, exact)])
    return Effect.gen(function*() {
      expect((yield* getApp()).replicas).toBe(2)
    }).pipe(Effect.provide(clientLayer(api, { maxResponseBytes: 64 * 1024 })))
  })

  it.effect("defaults to 8 MiB", () => {
    const { body } = endless()
    const api = fakeApi([{ status: 200, body }])
    return Effect.gen(function*() {
      expect((yield* fetchFailure()).message).toContain("larger than 8 MiB")
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("reads error bodies only for their message: an oversized one keeps its status's reason", () => {
    const { body } = endless()
    const api = fakeApi([{ status: 500, body }])
    return Effect.gen(function*() {
      expect(yield* fetchFailure()).toMatchObject({ reason: "server", status: 500, message: "HTTP 500" })
    }).pipe(Effect.provide(clientLayer(api, { retries: 0 })))
  })
})

describe("PhalaClient redirects", () => {
  it.effect("asks fetch not to follow, and reports a redirect to another origin as client, not retried", () => {
    const api = fakeApi([json(301, "", { location: "https://evil.test/api/v1/apps/x" }), ok])
    return Effect.gen(function*() {
      const failure = yield* withTimePassing(fetchFailure())
      expect(failure).toMatchObject({ reason: "client", status: 301 })
      expect(failure.message).toContain("redirect to another origin (https://evil.test) not followed")
      expect(failure.message).toContain("api.url")
      expect(api.requests.map((request) => [request.url, request.redirect])).toStrictEqual([
        [`https://cloud.test/api/v1/apps/${appId}`, "manual"]
      ])
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("does not follow a same-origin redirect either, nor one without a Location", () => {
    const replies = [json(307, "", { location: `/api/v1/apps/${appId}/` }), json(302, "")]
    const api = fakeApi((_, index) => replies[index] ?? ok)
    return Effect.gen(function*() {
      const sameOrigin = yield* fetchFailure()
      expect(sameOrigin).toMatchObject({ reason: "client", status: 307 })
      expect(sameOrigin.message).toContain(`redirect to /api/v1/apps/${appId}/ not followed`)
      expect((yield* fetchFailure()).message).toBe("HTTP 302: redirect without a usable Location, not followed")
      expect(api.requests).toHaveLength(2)
    }).pipe(Effect.provide(clientLayer(api)))
  })
})

describe("PhalaClient 404 rule (DESIGN §4)", () => {
  const probes = (api: FakeApi) => api.requests.filter((request) => request.url.includes("/apps?")).length

  it.effect("a route-level or proxy 404 is client with an api.url hint, without a probe", () => {
    const replies = [
      json(404, "{\"detail\":\"Not Found\"}"),
      json(404, "<html><body><h1>404 Not Found</h1></body></html>", { "content-type": "text/html" }),
      json(404, ""),
      json(404, "{\"message\":\"no Route matched with those values\"}")
    ]
    const api = fakeApi((_, index) => replies[index] ?? ok)
    return Effect.gen(function*() {
      const failures: Array<FetchFailure> = []
      for (let i = 0; i < replies.length; i++) failures.push(yield* fetchFailure())
      for (const failure of failures) {
        expect(failure).toMatchObject({ reason: "client", status: 404 })
        expect(failure.message).toContain("api.url may be wrong")
      }
      expect(failures.map((failure) => failure.message.split(",")[0])).toStrictEqual([
        "HTTP 404 with a route-level error (\"Not Found\")",
        "HTTP 404 with an HTML page (a proxy?)",
        "HTTP 404 with an empty body",
        "HTTP 404 with a route-level error (\"no Route matched with those values\")"
      ])
      expect(probes(api)).toBe(0)
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("the API's 404 from a base URL the probe cannot confirm is client, naming the probe's answer", () => {
    const api = fakeApi((url) => (url.includes("/apps?") ? json(404, "{\"detail\":\"Not Found\"}") : json(404, appNotFound)))
    return Effect.gen(function*() {
      const failure = yield* fetchFailure()
      expect(failure).toMatchObject({ reason: "client", status: 404 })
      expect(failure.message).toContain("GET /apps: HTTP 404")
      expect(failure.message).toContain("api.url may be wrong")
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("a probe answering 2xx with something other than the list does not confirm", () => {
    const api = fakeApi((url) => (url.includes("/apps?") ? json(200, "<html>app shell</html>") : json(404, appNotFound)))
    return Effect.gen(function*() {
      expect((yield* fetchFailure()).message).toContain("GET /apps: HTTP 200, not the app list")
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("a structured error body counts as the API's answer about the app", () => {
    const api = fakeApi((url) => (url.includes("/apps?") ? json(200, listPage) : json(404, fixture("error-structured.json"))))
    return Effect.gen(function*() {
      expect(yield* Effect.flip(getApp())).toStrictEqual(new AppNotFound({ appId }))
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("a 2xx app answer confirms the base URL: later 404s are missing_app without a probe", () => {
    const api = fakeApi((url) => (url.endsWith(otherAppId) ? okFor(otherAppId) : json(404, appNotFound)))
    return Effect.gen(function*() {
      yield* getApp(otherAppId)
      expect(yield* Effect.flip(getApp())).toStrictEqual(new AppNotFound({ appId }))
      expect(probes(api)).toBe(0)
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("concurrent 404s share one probe; a failed probe is reused for 30 s, then asked again", () => {
    const ids = Array.from({ length: 6 }, (_, i) => `${"ab".repeat(19)}${String(i).padStart(2, "0")}`)
    const api = fakeApi((url) => (url.includes("/apps?") ? json(503, "{}") : json(404, appNotFound)))
    return Effect.gen(function*() {
      const failures = yield* Effect.forEach(ids, (id) => Effect.flip(getApp(id)), { concurrency: "unbounded" })
      expect(new Set(failures.map((failure) => failure._tag === "FetchFailure" && failure.reason))).toStrictEqual(new Set(["client"]))
      expect(probes(api)).toBe(1)
      yield* TestClock.adjust("29 seconds")
      yield* Effect.flip(getApp())
      expect(probes(api)).toBe(1)
      yield* TestClock.adjust("2 seconds")
      yield* Effect.flip(getApp())
      expect(probes(api)).toBe(2)
    }).pipe(Effect.provide(clientLayer(api, { concurrency: 2 })))
  })

  it.effect("the probe takes a permit like any request (concurrency 1 does not deadlock)", () => {
    const api = fakeApi((url) => (url.includes("/apps?") ? json(200, listPage) : json(404, appNotFound)))
    return Effect.gen(function*() {
      expect(yield* Effect.flip(getApp())).toStrictEqual(new AppNotFound({ appId }))
      expect(api.stats.maxInFlight).toBe(1)
    }).pipe(Effect.provide(clientLayer(api, { concurrency: 1 })))
  })
})

describe("PhalaClient: what a 200 says", () => {
  it.effect("the minimal shape is incomplete, another app's body bad_response: neither retried nor an observation", () => {
    const replies = [json(200, fixture("app-minimal.json")), okFor(otherAppId)]
    const api = fakeApi((_, index) => replies[index] ?? ok)
    return Effect.gen(function*() {
      expect(yield* fetchFailure()).toMatchObject({ reason: "incomplete", status: 200 })
      const other = yield* fetchFailure()
      expect(other).toMatchObject({ reason: "bad_response", status: 200 })
      expect(other.message).toContain(`body is about another app (app_id "${otherAppId}")`)
      expect(api.requests).toHaveLength(2)
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("cuts names, statuses and attributes to 256 characters and redacts the key in any letter case", () => {
    const body = JSON.parse(fixture("app-2025-10-28.json")) as { name: string; cvms: Array<Record<string, unknown>> }
    body.name = "n".repeat(5_000_000)
    const [first] = body.cvms
    Object.assign(first ?? {}, {
      name: `owned-by-${apiKey.toUpperCase()}`,
      status: apiKey.replace("S3cr3t", "s3CR3T"),
      instance_type: "t".repeat(300),
      vm_uuid: "u".repeat(1000)
    })
    const api = fakeApi([json(200, JSON.stringify(body))])
    return Effect.gen(function*() {
      const app = yield* getApp()
      expect(app.name).toBe(`${"n".repeat(255)}…`)
      const [cvm] = app.cvms
      expect(cvm).toMatchObject({ name: "owned-by-<redacted>", status: "<redacted>", instanceType: `${"t".repeat(255)}…` })
      expect(cvm?.vmUuid?.length).toBe(256)
      expect(JSON.stringify(app).toLowerCase()).not.toContain(apiKey.toLowerCase())
    }).pipe(Effect.provide(clientLayer(api)))
  })

  it.effect("redacts the key echoed in another letter case from error texts", () => {
    const api = fakeApi([json(400, JSON.stringify({ detail: `bad key ${apiKey.toUpperCase()}` }))])
    return Effect.gen(function*() {
      expect((yield* fetchFailure()).message).toBe("HTTP 400: bad key <redacted>")
    }).pipe(Effect.provide(clientLayer(api)))
  })
})
