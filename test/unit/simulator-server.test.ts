import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Logger, LogLevel, TestClock } from "effect"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { type RunningSimulator, serveScenarioInput, serveSimulator } from "../../src/Simulator/Simulator.js"

const KEY = "phak_test_0123456789"
const APP = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const NEW_APP = "0aed1acdab34da8b49d2471fa63a201ded86891c"
const MINIMAL = "527dd50798291545560d6d07ca0ab7220f955e0e"
const FOREIGN = "f3a3d23579a6ae46715a2d8549e3e1e8430da18f"
const FLAKY = "d627174eb92e89f697b40b22fb7ffe816fd27268"
const UNKNOWN = "5c01cf57791ca45fe9e41443d7597a570a63fca5"
const VM0 = "c48d9363-21b2-4f4a-87d9-3496623f020d"
const VM1 = "16d247ca-23f5-4ffa-b590-7f732eddbf51"
const VM_NEW = "a827744c-f30e-4ae6-9106-e22f63b631ac"

const scenario = {
  api_keys: [KEY, "phak_second"],
  transition_delay: "200ms",
  team: { slug: "acme", name: "Acme" },
  apps: [
    {
      app_id: APP,
      name: "payments-api",
      cvms: [
        { vm_uuid: VM0, id: "cvm_Pay0000a", name: "payments-api-0", instance_type: "tdx.large", node: "prod6", region: "EU-WEST-1" },
        { vm_uuid: VM1, name: "payments-api-1", status: "stopped", instance_type: "tdx.large", node: "prod7" }
      ]
    },
    {
      app_id: NEW_APP,
      name: "analytics",
      version: "2026-01-21",
      cvms: [{ vm_uuid: VM_NEW, name: "analytics-0", instance_type: "tdx.xlarge", node: "prod9", base_image: "dstack-dev-0.5.4.1" }]
    },
    { app_id: MINIMAL, name: "ghost", shape: "minimal" },
    { app_id: FOREIGN, name: "foreign", forbidden: true, cvms: [{ name: "foreign-0" }] },
    { app_id: FLAKY, name: "flaky", cvms: [{ name: "flaky-0" }] }
  ]
}

const quiet = Logger.minimumLogLevel(LogLevel.Warning)

const start = (input: unknown = scenario) => serveScenarioInput(input, { port: 0 }).pipe(Effect.provide(quiet))

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: unknown
}

const call = (
  sim: RunningSimulator,
  path: string,
  init: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: unknown; readonly key?: string | null } = {}
) =>
  Effect.promise(async (): Promise<Reply> => {
    const headers: Record<string, string> = { ...(init.key === null ? {} : { "X-API-Key": init.key ?? KEY }), ...init.headers }
    const response = await fetch(`${sim.url}${path}`, {
      method: init.method ?? "GET",
      headers: init.body === undefined ? headers : { ...headers, "content-type": "application/json" },
      ...(init.body === undefined ? {} : { body: typeof init.body === "string" ? init.body : JSON.stringify(init.body) })
    })
    const text = await response.text()
    let body: unknown = undefined
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    return { status: response.status, headers: response.headers, text, body }
  })

const admin = (sim: RunningSimulator, method: string, path: string, body?: unknown) =>
  call(sim, path, { method, key: null, ...(body === undefined ? {} : { body }) })

/**
 * Waits (on real time: the request crosses a socket) until `probe` holds; a generous bound turns a hang into a
 * failure naming what never happened.
 */
const until = (what: string, probe: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1_000; i++) {
      if (yield* probe) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
    }
    return yield* Effect.die(new Error(`timed out waiting until ${what}`))
  })

interface LoggedRequest {
  readonly app_id: string | null
  readonly outcome: string
  readonly duration_ms: number | null
}

const requestLog = (sim: RunningSimulator) =>
  Effect.map(admin(sim, "GET", "/_sim/requests"), (reply) => (reply.body as { readonly requests: ReadonlyArray<LoggedRequest> }).requests)

/** Until a request handler sleeps on the (test) clock: moving the clock on before that would not wake it. */
const sleeping = until("a request waits on the clock", Effect.map(TestClock.sleeps(), (sleeps) => Chunk.size(sleeps) > 0))

describe("simulator API", () => {
  it.scopedLive("rejects missing and wrong API keys with 401", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const missing = yield* call(sim, `/api/v1/apps/${APP}`, { key: null })
      expect(missing.status).toBe(401)
      expect(missing.body).toEqual({ detail: "Authentication required" })
      const wrong = yield* call(sim, `/api/v1/apps/${APP}`, { key: "phak_wrong" })
      expect(wrong.status).toBe(401)
      expect(wrong.body).toEqual({ detail: "Invalid API key" })
      const lower = yield* call(sim, `/api/v1/apps/${APP}`, { key: null, headers: { "x-api-key": "phak_second" } })
      expect(lower.status).toBe(200)
      expect((yield* call(sim, "/api/v1/apps", { key: null })).status).toBe(401)
    }))

  it.scopedLive("unknown app, forbidden app and unknown route", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const unknown = yield* call(sim, `/api/v1/apps/${UNKNOWN}`)
      expect(unknown.status).toBe(404)
      expect(unknown.body).toEqual({ detail: "App not found" })
      expect(unknown.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
      const forbidden = yield* call(sim, `/api/v1/apps/${FOREIGN}`)
      expect(forbidden.status).toBe(403)
      expect(forbidden.body).toEqual({ detail: "You do not have permission to perform this action" })
      const route = yield* call(sim, "/api/v2/whatever")
      expect(route.status).toBe(404)
      expect(route.body).toEqual({ detail: "Not Found" })
    }))

  it.scopedLive("2025-10-28 shape (also for a missing or unknown version header)", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      for (const headers of [{ "X-Phala-Version": "2025-10-28" }, {}, { "X-Phala-Version": "2099-01-01" }]) {
        const reply = yield* call(sim, `/api/v1/apps/${APP}`, { headers })
        expect(reply.status).toBe(200)
        expect(reply.headers.get("content-type")).toContain("application/json")
        expect(reply.body).toMatchObject({
          name: "payments-api",
          app_id: APP,
          app_provision_type: null,
          app_icon_url: null,
          kms_type: "phala",
          profile: null,
          cvm_count: 2,
          team_slug: "acme",
          team_name: "Acme"
        })
        expect(reply.body).toHaveProperty("id", expect.stringMatching(/^prj_/))
        expect(reply.body).toHaveProperty("created_at", expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/))
        expect(reply.body).toHaveProperty("current_cvm.vm_uuid", VM0)
        expect(reply.body).toMatchObject({
          cvms: [
            {
              vm_uuid: VM0,
              app_id: APP,
              name: "payments-api-0",
              status: "running",
              vcpu: 4,
              memory: 8192,
              disk_size: 20,
              teepod_id: 11,
              teepod_name: "prod6",
              region_identifier: "EU-WEST-1",
              kms_type: "phala",
              instance_type: "tdx.large",
              base_image: "dstack-0.5.5",
              kms_slug: "phala-prod6",
              machine_info: { vcpu: 4, memory: 8192, disk_size: 20, gpu_count: 0 }
            },
            { vm_uuid: VM1, status: "stopped", teepod_name: "prod7", teepod_id: 12, region_identifier: "US-WEST-1" }
          ]
        })
        expect(reply.body).not.toHaveProperty("cvms.0.resource")
        for (const key of ["listed", "kms_id", "instance_id", "updated_at"]) expect(reply.body).toHaveProperty(`cvms.0.${key}`)
      }
    }))

  it.scopedLive("2026-01-21 / 2026-05-22 shape, and a pinned version wins over the header", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      for (const version of ["2026-01-21", "2026-05-22"]) {
        const reply = yield* call(sim, `/api/v1/apps/${APP}`, { headers: { "X-Phala-Version": version } })
        expect(reply.body).not.toHaveProperty("team_slug")
        expect(reply.body).not.toHaveProperty("team_name")
        expect(reply.body).not.toHaveProperty("cvms.0.memory")
        expect(reply.body).toMatchObject({
          cvm_count: 2,
          cvms: [
            {
              id: "cvm_Pay0000a",
              vm_uuid: VM0,
              resource: { instance_type: "tdx.large", vcpu: 4, memory_in_gb: 8, disk_in_gb: 20, gpus: 0, compute_billing_price: "0.232" },
              node_info: { object_type: "node", id: 11, name: "prod6", region: "EU-WEST-1", status: "ONLINE" },
              os: { name: "dstack-0.5.5", version: "0.5.5", is_dev: false },
              kms_type: "phala",
              status: "running",
              in_progress: false,
              progress: null,
              gateway: { base_domain: "dstack-pha-prod6.phala.network", cname: null },
              workspace: { object_type: "workspace", slug: "acme", name: "Acme" }
            },
            { status: "stopped", node_info: { name: "prod7" } }
          ]
        })
      }
      const pinned = yield* call(sim, `/api/v1/apps/${NEW_APP}`, { headers: { "X-Phala-Version": "2025-10-28" } })
      expect(pinned.body).toHaveProperty("cvms.0.resource.memory_in_gb", 16)
      expect(pinned.body).toHaveProperty("cvms.0.os.is_dev", true)
      expect(pinned.body).not.toHaveProperty("team_slug")
    }))

  it.scopedLive("minimal shape: only app_id is set", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const reply = yield* call(sim, `/api/v1/apps/${MINIMAL}`)
      expect(reply.body).toEqual({
        id: null,
        name: null,
        app_id: MINIMAL,
        app_provision_type: null,
        app_icon_url: null,
        created_at: null,
        kms_type: null,
        profile: null,
        current_cvm: null,
        cvms: null,
        cvm_count: null
      })
    }))

  it.scopedLive("list: pagination maths, filters and FastAPI 422 bodies", () =>
    Effect.gen(function*() {
      const sim = yield* start({ ...scenario, synthetic: { apps: 41, cvms_per_app: 1, seed: 3 } })
      // 4 visible scenario apps (the forbidden one is not listed) + 41 synthetic
      const first = yield* call(sim, "/api/v1/apps")
      expect(first.body).toMatchObject({ page: 1, page_size: 20, total: 45, total_pages: 3 })
      expect(first.body).toHaveProperty("dstack_apps.length", 20)
      expect(first.body).toHaveProperty("dstack_apps.0.app_id", APP)
      const last = yield* call(sim, "/api/v1/apps?page=3&page_size=20")
      expect(last.body).toHaveProperty("dstack_apps.length", 5)
      const beyond = yield* call(sim, "/api/v1/apps?page=9")
      expect(beyond.body).toMatchObject({ dstack_apps: [], page: 9, total: 45, total_pages: 3 })
      const big = yield* call(sim, "/api/v1/apps?page_size=100")
      expect(big.body).toMatchObject({ page_size: 100, total_pages: 1 })

      const zero = yield* call(sim, "/api/v1/apps?page=0")
      expect(zero.status).toBe(422)
      expect(zero.body).toEqual({
        detail: [{ loc: ["query", "page"], msg: "Input should be greater than or equal to 1", type: "greater_than_equal", input: "0", ctx: { ge: 1 } }]
      })
      const tooBig = yield* call(sim, "/api/v1/apps?page_size=101&page=x")
      expect(tooBig.status).toBe(422)
      expect(tooBig.body).toEqual({
        detail: [
          { loc: ["query", "page"], msg: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing", input: "x" },
          { loc: ["query", "page_size"], msg: "Input should be less than or equal to 100", type: "less_than_equal", input: "101", ctx: { le: 100 } }
        ]
      })
      expect((yield* call(sim, "/api/v1/apps?page_size=0")).status).toBe(422)

    }))

  it.scopedLive("list: one version per request, whatever an app is pinned to", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const entry = (body: unknown, appId: string): unknown =>
        (body as { dstack_apps: ReadonlyArray<{ app_id: string }> }).dstack_apps.find((a) => a.app_id === appId)
      const legacy = yield* call(sim, "/api/v1/apps", { headers: { "X-Phala-Version": "2025-10-28" } })
      expect(entry(legacy.body, NEW_APP)).toMatchObject({ team_slug: "acme", cvms: [{ vm_uuid: VM_NEW, memory: 16384, teepod_name: "prod9" }] })
      expect(entry(legacy.body, NEW_APP)).not.toHaveProperty("cvms.0.resource")
      const current = yield* call(sim, "/api/v1/apps", { headers: { "X-Phala-Version": "2026-01-21" } })
      expect(entry(current.body, APP)).toMatchObject({ cvms: [{ id: "cvm_Pay0000a", resource: { memory_in_gb: 8 } }, {}] })
      expect(entry(current.body, NEW_APP)).toMatchObject({ cvms: [{ resource: { memory_in_gb: 16 } }] })
      // the single-app read still honours the pin
      const pinned = yield* call(sim, `/api/v1/apps/${NEW_APP}`, { headers: { "X-Phala-Version": "2025-10-28" } })
      expect(pinned.body).toHaveProperty("cvms.0.resource.memory_in_gb", 16)
    }))

  it.scopedLive("list: search and CVM filters", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const search = yield* call(sim, "/api/v1/apps?search=PAYMENTS")
      expect(search.body).toMatchObject({ total: 1, total_pages: 1, dstack_apps: [{ name: "payments-api" }] })
      const byUuid = yield* call(sim, `/api/v1/apps?search=${VM_NEW.slice(0, 8)}`)
      expect(byUuid.body).toMatchObject({ total: 1, dstack_apps: [{ name: "analytics" }] })
      const empty = yield* call(sim, "/api/v1/apps?search=nothing-matches")
      expect(empty.body).toEqual({ dstack_apps: [], page: 1, page_size: 20, total: 0, total_pages: 0 })
      const stopped = yield* call(sim, "/api/v1/apps?status=stopped&status=exited")
      expect(stopped.body).toMatchObject({ total: 1, dstack_apps: [{ name: "payments-api" }] })
      const region = yield* call(sim, "/api/v1/apps?region=EU-WEST-1&instance_type=tdx.large")
      expect(region.body).toMatchObject({ total: 1, dstack_apps: [{ name: "payments-api" }] })
      const node = yield* call(sim, "/api/v1/apps?node=prod9&page_size=1")
      expect(node.body).toMatchObject({ total: 1, total_pages: 1, dstack_apps: [{ name: "analytics" }] })
    }))
})

describe("simulator server", () => {
  it.scopedLive("serveSimulator loads a file, logs where it listens, and reports a port in use", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => lines.push(String(message))))
      const sim = yield* serveSimulator({ scenarioPath: "config/scenarios/demo.yaml", port: 0 }).pipe(
        Effect.provide(capture),
        Effect.provide(NodeFileSystem.layer)
      )
      expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`)
      expect(lines).toEqual([`phala-drift simulator listening on http://127.0.0.1:${sim.port}`])
      const demo = yield* call(sim, `/api/v1/apps/${APP}`, { key: "phak_demo_0123456789" })
      expect(demo.body).toMatchObject({ name: "payments-api", cvm_count: 2 })
      const clash = yield* Effect.flip(serveScenarioInput(scenario, { port: sim.port }).pipe(Effect.provide(quiet)))
      expect(clash.reason).toBe("listen")
      const bad = yield* Effect.flip(serveScenarioInput({ api_keys: ["k"], apps: [{ nmae: "typo" }] }, { port: 0 }))
      expect(bad.reason).toBe("scenario")
      expect(bad.message).toContain("apps.0.nmae")
    }))
})

describe("simulator faults", () => {
  const faulty = (faults: unknown) =>
    start({ ...scenario, apps: scenario.apps.map((a) => (a.app_id === FLAKY ? { ...a, faults } : a)) })

  it.scopedLive("queued statuses are consumed one per request, then normal answers", () =>
    Effect.gen(function*() {
      const sim = yield* faulty({ statuses: [503, 502, { status: 503, retry_after: 7 }] })
      const a = yield* call(sim, `/api/v1/apps/${FLAKY}`)
      expect(a.status).toBe(503)
      expect(a.body).toEqual({ detail: "Service Unavailable" })
      const b = yield* call(sim, `/api/v1/apps/${FLAKY}`)
      expect(b.status).toBe(502)
      expect(b.headers.get("content-type")).toContain("text/html")
      expect(b.text).toContain("502 Bad Gateway")
      const c = yield* call(sim, `/api/v1/apps/${FLAKY}`)
      expect(c.status).toBe(503)
      expect(c.headers.get("retry-after")).toBe("7")
      expect((yield* call(sim, `/api/v1/apps/${FLAKY}`)).status).toBe(200)
      // other apps are unaffected
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).status).toBe(200)
    }))

  it.scopedLive("rate limit: 429 with Retry-After for the next N requests", () =>
    Effect.gen(function*() {
      const sim = yield* faulty({ rate_limit: { count: 2, retry_after: "1" } })
      for (let i = 0; i < 2; i++) {
        const reply = yield* call(sim, `/api/v1/apps/${FLAKY}`)
        expect(reply.status).toBe(429)
        expect(reply.body).toEqual({ detail: "Rate limit exceeded" })
        expect(reply.headers.get("retry-after")).toBe("1")
      }
      expect((yield* call(sim, `/api/v1/apps/${FLAKY}`)).status).toBe(200)
      const date = "Wed, 21 Oct 2026 07:28:00 GMT"
      yield* admin(sim, "PUT", `/_sim/apps/${FLAKY}/faults`, { rate_limit: { count: 1, retry_after: date } })
      expect((yield* call(sim, `/api/v1/apps/${FLAKY}`)).headers.get("retry-after")).toBe(date)
    }))

  it.scoped("latency delays the answer by exactly that much simulator time", () =>
    Effect.gen(function*() {
      const sim = yield* faulty({ latency: "300ms" })
      const slow = yield* Effect.fork(call(sim, `/api/v1/apps/${FLAKY}`))
      yield* sleeping
      yield* TestClock.adjust(Duration.millis(299))
      expect(yield* Fiber.poll(slow)).toEqual(expect.objectContaining({ _tag: "None" }))
      yield* TestClock.adjust(Duration.millis(1))
      expect((yield* Fiber.join(slow)).status).toBe(200)
      // other apps answer at once: no clock movement needed
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).status).toBe(200)
      expect((yield* requestLog(sim)).map((r) => [r.app_id, r.duration_ms])).toEqual([[FLAKY, 300], [APP, 0]])
    }))

  it.scopedLive("malformed JSON and wrong types are served with status 200", () =>
    Effect.gen(function*() {
      const sim = yield* faulty({ malformed: true })
      const malformed = yield* call(sim, `/api/v1/apps/${FLAKY}`)
      expect(malformed.status).toBe(200)
      expect(malformed.headers.get("content-type")).toContain("application/json")
      expect(() => JSON.parse(malformed.text)).toThrow()
      yield* admin(sim, "PUT", `/_sim/apps/${FLAKY}/faults`, { wrong_types: true })
      const wrong = yield* call(sim, `/api/v1/apps/${FLAKY}`)
      expect(wrong.status).toBe(200)
      expect(wrong.body).toMatchObject({ cvms: "oops", cvm_count: "1", app_id: FLAKY })
    }))

  it.scoped("hang: never answers, whatever the time; the client gives up and the request log says aborted", () =>
    Effect.gen(function*() {
      const sim = yield* faulty({ hang: true })
      const client = new AbortController()
      const answer = fetch(`${sim.url}/api/v1/apps/${FLAKY}`, { headers: { "X-API-Key": KEY }, signal: client.signal }).then(
        (r) => `answered ${r.status}`,
        (e: unknown) => (e instanceof Error ? e.name : "error")
      )
      yield* until("the request is logged", Effect.map(requestLog(sim), (log) => log.length === 1))
      yield* TestClock.adjust(Duration.hours(1))
      expect((yield* requestLog(sim)).map((r) => r.outcome)).toEqual(["pending"])
      client.abort()
      expect(yield* Effect.promise(() => answer)).toBe("AbortError")
      yield* until("the request is logged as aborted", Effect.map(requestLog(sim), (log) => log[0]?.outcome === "aborted"))
      expect((yield* admin(sim, "GET", "/_sim/requests")).body).toMatchObject({ requests: [{ app_id: FLAKY, status: null, outcome: "aborted" }] })
    }))

  it.live("closing the scope tears down a hanging connection", () =>
    Effect.gen(function*() {
      let pending: Promise<string> = Promise.resolve("not started")
      yield* Effect.scoped(Effect.gen(function*() {
        const sim = yield* faulty({ hang: true })
        pending = fetch(`${sim.url}/api/v1/apps/${FLAKY}`, { headers: { "X-API-Key": KEY } }).then(
          (r) => `answered ${r.status}`,
          () => "connection closed"
        )
        yield* until("the request is held", Effect.map(requestLog(sim), (log) => log[0]?.outcome === "pending"))
      })).pipe(Effect.timeoutFail({ duration: Duration.seconds(30), onTimeout: () => new Error("scope close hung") }))
      expect(yield* Effect.promise(() => pending)).toBe("connection closed")
    }))
})

describe("simulator lifecycle", () => {
  it.scoped("stop returns the VM in stopping, which resolves to stopped after the transition delay; a second operation conflicts", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const stop = yield* call(sim, `/api/v1/cvms/${VM0.replaceAll("-", "")}/stop`, { method: "POST" })
      expect(stop.status).toBe(200)
      expect(stop.body).toMatchObject({
        id: expect.any(Number),
        name: "payments-api-0",
        status: "stopping",
        teepod_id: 11,
        teepod: { id: 11, name: "prod6" },
        app_id: APP,
        vm_uuid: VM0,
        base_image: "dstack-0.5.5",
        vcpu: 4,
        memory: 8192,
        disk_size: 20
      })
      expect(stop.body).toHaveProperty("user_id", expect.any(Number))
      const during = yield* call(sim, `/api/v1/apps/${APP}`, { headers: { "X-Phala-Version": "2026-01-21" } })
      expect(during.body).toHaveProperty("cvms.0", expect.objectContaining({ status: "stopping", in_progress: true, progress: expect.objectContaining({ target: "stopped" }) }))
      const conflict = yield* call(sim, `/api/v1/cvms/${VM0}/start`, { method: "POST" })
      expect(conflict.status).toBe(409)
      expect(conflict.body).toEqual({ detail: "Another operation in progress" })
      // transition_delay: 200ms
      yield* TestClock.adjust(Duration.millis(199))
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).body).toHaveProperty("cvms.0.status", "stopping")
      yield* TestClock.adjust(Duration.millis(1))
      const after = yield* call(sim, `/api/v1/apps/${APP}`)
      expect(after.body).toHaveProperty("cvms.0.status", "stopped")
      const start2 = yield* call(sim, "/api/v1/cvms/cvm_Pay0000a/start", { method: "POST", headers: { "X-Phala-Version": "2026-05-22" } })
      expect(start2.body).toMatchObject({ id: "cvm_Pay0000a", status: "starting", user_id: expect.stringMatching(/^usr_/) })
    }))

  it.scopedLive("the VM answers in the requested version, not in the version the app is pinned to", () =>
    Effect.gen(function*() {
      const sim = yield* start({ ...scenario, apps: scenario.apps.map((a) => (a.app_id === NEW_APP ? { ...a, version: "2026-05-22" } : a)) })
      const legacy = yield* call(sim, `/api/v1/cvms/${VM_NEW}/stop`, { method: "POST", headers: { "X-Phala-Version": "2026-01-21" } })
      expect(legacy.body).toMatchObject({ id: expect.any(Number), user_id: expect.any(Number), status: "stopping" })
      const hashids = yield* call(sim, `/api/v1/cvms/${VM0}/stop`, { method: "POST", headers: { "X-Phala-Version": "2026-05-22" } })
      expect(hashids.body).toMatchObject({ id: "cvm_Pay0000a", user_id: expect.stringMatching(/^usr_/) })
    }))

  it.scoped("shutdown and restart resolve too; unknown CVMs get the structured 404", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      expect((yield* call(sim, `/api/v1/cvms/${VM0}/shutdown`, { method: "POST" })).body).toHaveProperty("status", "shutting_down")
      expect((yield* call(sim, `/api/v1/cvms/${VM_NEW}/restart`, { method: "POST", body: { force: false } })).body).toHaveProperty(
        "status",
        "restarting"
      )
      yield* TestClock.adjust(Duration.millis(200))
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).body).toHaveProperty("cvms.0.status", "stopped")
      expect((yield* call(sim, `/api/v1/apps/${NEW_APP}`)).body).toHaveProperty("cvms.0.status", "running")

      const missing = yield* call(sim, "/api/v1/cvms/00000000-0000-4000-8000-000000000000/start", { method: "POST" })
      expect(missing.status).toBe(404)
      expect(missing.body).toEqual({
        error_code: "ERR-03-001",
        message: "The requested CVM was not found",
        request_id: missing.headers.get("x-request-id"),
        details: [],
        suggestions: [],
        links: []
      })
      expect((yield* call(sim, `/api/v1/cvms/${VM0}/start`, { method: "POST", key: null })).status).toBe(401)
      expect((yield* call(sim, `/api/v1/cvms/${VM0}/explode`, { method: "POST" })).status).toBe(404)
    }))
})

describe("simulator faults on lifecycle endpoints", () => {
  it.scoped("faults.actions answers the app's lifecycle calls in order with the reference's bodies, then the CVM acts", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const put = yield* admin(sim, "PUT", `/_sim/apps/${APP}/faults`, { actions: [403, { status: 429, retry_after: 3 }, 409, 404] })
      expect(put.body).toHaveProperty("actions", [
        { status: 403, retry_after: null },
        { status: 429, retry_after: "3" },
        { status: 409, retry_after: null },
        { status: 404, retry_after: null }
      ])
      const forbidden = yield* call(sim, `/api/v1/cvms/${VM1}/start`, { method: "POST" })
      expect([forbidden.status, forbidden.body]).toEqual([403, { detail: "CVM not in workspace" }])
      const limited = yield* call(sim, `/api/v1/cvms/${VM1}/start`, { method: "POST" })
      expect([limited.status, limited.headers.get("retry-after")]).toEqual([429, "3"])
      const busy = yield* call(sim, `/api/v1/cvms/${VM0}/shutdown`, { method: "POST" })
      expect([busy.status, busy.body]).toEqual([409, { detail: "Another operation in progress" }])
      const gone = yield* call(sim, `/api/v1/cvms/${VM0}/stop`, { method: "POST" })
      expect(gone.status).toBe(404)
      expect(gone.body).toHaveProperty("error_code", "ERR-03-001")
      // faults spent: the API acts, and reads were never affected
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).status).toBe(200)
      const ok = yield* call(sim, `/api/v1/cvms/${VM1}/start`, { method: "POST" })
      expect([ok.status, (ok.body as { readonly status: string }).status]).toEqual([200, "starting"])
    }))

  it.scoped("a GPU-rental 403 on shutdown and stop", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      yield* admin(sim, "PUT", `/_sim/apps/${APP}/faults`, { actions: [403, 403] })
      for (const action of ["shutdown", "stop"]) {
        const reply = yield* call(sim, `/api/v1/cvms/${VM0}/${action}`, { method: "POST" })
        expect([reply.status, reply.body]).toEqual([403, { detail: "CVM managed by on-demand GPU rental" }])
      }
      expect((yield* admin(sim, "GET", "/_sim/state")).body).toHaveProperty("apps.0.cvms.0.status", "running")
    }))
})

describe("simulator admin API", () => {
  it.scoped("state, status changes with then, attribute patches", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const state = yield* admin(sim, "GET", "/_sim/state")
      expect(state.status).toBe(200)
      expect(state.body).toHaveProperty("apps.length", 5)
      expect(state.body).toHaveProperty("apps.0.cvms.0", expect.objectContaining({ vm_uuid: VM0, status: "running", memory_mb: 8192 }))

      const put = yield* admin(sim, "PUT", `/_sim/apps/${APP}/cvms/${VM1}/status`, { status: "Exited", then: { status: "running", after: "200ms" } })
      expect(put.status).toBe(200)
      expect(put.body).toMatchObject({ vm_uuid: VM1, status: "Exited" })
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).body).toHaveProperty("cvms.1.status", "Exited")
      yield* TestClock.adjust(Duration.millis(199))
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).body).toHaveProperty("cvms.1.status", "Exited")
      yield* TestClock.adjust(Duration.millis(1))
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).body).toHaveProperty("cvms.1.status", "running")

      const patch = yield* admin(sim, "PATCH", `/_sim/apps/${APP}/cvms/${VM0}`, { instance_type: "tdx.medium", region: "US-WEST-1" })
      expect(patch.status).toBe(200)
      const after = yield* call(sim, `/api/v1/apps/${APP}`)
      expect(after.body).toHaveProperty("cvms.0", expect.objectContaining({ instance_type: "tdx.medium", region_identifier: "US-WEST-1", vcpu: 2, memory: 4096 }))

      const badBody = yield* admin(sim, "PUT", `/_sim/apps/${APP}/cvms/${VM1}/status`, { state: "stopped" })
      expect(badBody.status).toBe(400)
      expect(badBody.body).toHaveProperty("detail", expect.stringContaining("status"))
      expect((yield* admin(sim, "PUT", `/_sim/apps/${APP}/cvms/${VM1}/status`, "not json")).status).toBe(400)
      expect((yield* admin(sim, "PATCH", `/_sim/apps/${APP}/cvms/${VM0}`, { vcpu: "four" })).status).toBe(400)
      expect((yield* admin(sim, "PUT", `/_sim/apps/${APP}/cvms/${VM1}/status`, { status: "stopped", then: { status: "x", after: "soon" } })).status)
        .toBe(400)
      expect((yield* admin(sim, "PUT", `/_sim/apps/${UNKNOWN}/cvms/${VM1}/status`, { status: "stopped" })).status).toBe(404)
      expect((yield* admin(sim, "PUT", `/_sim/apps/${APP}/cvms/${VM_NEW}/status`, { status: "stopped" })).status).toBe(404)
    }))

  it.scopedLive("add and delete CVMs and apps", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const created = yield* admin(sim, "POST", `/_sim/apps/${APP}/cvms`, { name: "payments-api-2", instance_type: "tdx.large", status: "provisioning" })
      expect(created.status).toBe(201)
      expect(created.body).toMatchObject({ name: "payments-api-2", status: "provisioning", vm_uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) })
      const three = yield* call(sim, `/api/v1/apps/${APP}`)
      expect(three.body).toMatchObject({ cvm_count: 3 })
      expect((yield* admin(sim, "POST", `/_sim/apps/${APP}/cvms`, { vm_uuid: VM0 })).status).toBe(409)
      expect((yield* admin(sim, "POST", `/_sim/apps/${APP}/cvms`, { colour: "blue" })).status).toBe(400)

      expect((yield* admin(sim, "DELETE", `/_sim/apps/${APP}/cvms/${VM1}`)).status).toBe(204)
      const two = yield* call(sim, `/api/v1/apps/${APP}`)
      expect(two.body).toMatchObject({ cvm_count: 2, cvms: [{ vm_uuid: VM0 }, { name: "payments-api-2" }] })
      expect((yield* admin(sim, "DELETE", `/_sim/apps/${APP}/cvms/${VM1}`)).status).toBe(404)

      const app = yield* admin(sim, "POST", "/_sim/apps", { app_id: UNKNOWN, name: "late-arrival", cvms: [{ name: "late-0" }] })
      expect(app.status).toBe(201)
      expect((yield* call(sim, `/api/v1/apps/${UNKNOWN}`)).body).toMatchObject({ name: "late-arrival", cvm_count: 1 })
      expect((yield* admin(sim, "POST", "/_sim/apps", { app_id: UNKNOWN })).status).toBe(409)
      expect((yield* admin(sim, "DELETE", `/_sim/apps/${UNKNOWN}`)).status).toBe(204)
      expect((yield* call(sim, `/api/v1/apps/${UNKNOWN}`)).status).toBe(404)
    }))

  it.scopedLive("faults set, replaced and cleared at run time", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const set = yield* admin(sim, "PUT", `/_sim/apps/${APP}/faults`, { statuses: [500] })
      expect(set.status).toBe(200)
      expect(set.body).toMatchObject({ statuses: [{ status: 500, retry_after: null }] })
      const failed = yield* call(sim, `/api/v1/apps/${APP}`)
      expect(failed.status).toBe(500)
      expect(failed.body).toEqual({ detail: "An unexpected error occurred" })
      yield* admin(sim, "PUT", `/_sim/apps/${APP}/faults`, { statuses: [503, 503] })
      yield* admin(sim, "PUT", `/_sim/apps/${APP}/faults`, { rate_limit: { count: 1 } })
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).status).toBe(429)
      yield* admin(sim, "PUT", `/_sim/apps/${APP}/faults`, { malformed: true })
      expect((yield* admin(sim, "DELETE", `/_sim/apps/${APP}/faults`)).status).toBe(204)
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).status).toBe(200)
      expect((yield* admin(sim, "PUT", `/_sim/apps/${APP}/faults`, { statuses: [200] })).status).toBe(400)
      expect((yield* admin(sim, "PUT", `/_sim/apps/${UNKNOWN}/faults`, {})).status).toBe(404)
    }))

  it.scopedLive("request log records headers and key validity but never the key", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      yield* call(sim, `/api/v1/apps/${APP}`, {
        headers: { "X-Phala-Version": "2026-01-21", "User-Agent": "phala-drift/0.1.0", Accept: "application/json" }
      })
      yield* call(sim, `/api/v1/apps/${APP}`, { key: "phak_wrong_key" })
      yield* call(sim, "/api/v1/apps?page=2", { key: null })
      yield* call(sim, `/api/v1/cvms/${VM0}/restart`, { method: "POST" })
      const log = yield* admin(sim, "GET", "/_sim/requests")
      expect(log.text).not.toContain(KEY)
      expect(log.text).not.toContain("phak_wrong_key")
      expect(log.body).toMatchObject({
        requests: [
          {
            method: "GET",
            path: `/api/v1/apps/${APP}`,
            app_id: APP,
            status: 200,
            outcome: "responded",
            x_phala_version: "2026-01-21",
            user_agent: "phala-drift/0.1.0",
            accept: "application/json",
            api_key: "valid"
          },
          { status: 401, api_key: "invalid", x_phala_version: null },
          { path: "/api/v1/apps", query: "?page=2", status: 401, api_key: "missing", app_id: null },
          { method: "POST", app_id: APP, status: 200 }
        ]
      })
      const filtered = yield* call(sim, `/_sim/requests?app_id=${APP}`, { key: null })
      expect(filtered.body).toHaveProperty("requests.length", 3)
      expect((yield* admin(sim, "DELETE", "/_sim/requests")).status).toBe(204)
      expect((yield* admin(sim, "GET", "/_sim/requests")).body).toHaveProperty("requests", [])
    }))

  it.scopedLive("reset restores the scenario as loaded", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      yield* admin(sim, "DELETE", `/_sim/apps/${APP}`)
      yield* admin(sim, "PUT", `/_sim/apps/${FLAKY}/faults`, { statuses: [503] })
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).status).toBe(404)
      expect((yield* admin(sim, "POST", "/_sim/reset")).status).toBe(204)
      expect((yield* call(sim, `/api/v1/apps/${APP}`)).status).toBe(200)
      expect((yield* call(sim, `/api/v1/apps/${FLAKY}`)).status).toBe(200)
    }))
})
