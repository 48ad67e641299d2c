import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Logger, LogLevel, Redacted } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { type ActOptions, type ActionRetry, CvmActions, isBusyConflict } from "../../src/Cloud/CvmActions.js"
import type { ApiSettings } from "../../src/Core/Domain/App.js"
import type { ActionKind } from "../../src/Core/Plan/Actions.js"
import { type RunningSimulator, serveScenarioInput } from "../../src/Simulator/Simulator.js"
import { userAgent } from "../../src/Support/Version.js"

const KEY = "phak_test_actions_0123456789"
const APP = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const VM_RUNNING = "c48d9363-21b2-4f4a-87d9-3496623f020d"
const VM_STOPPED = "16d247ca-23f5-4ffa-b590-7f732eddbf51"

const scenario = (faults?: unknown) => ({
  api_keys: [KEY],
  transition_delay: "300ms",
  apps: [{
    app_id: APP,
    name: "payments-api",
    cvms: [
      { vm_uuid: VM_RUNNING, name: "payments-api-0" },
      { vm_uuid: VM_STOPPED, name: "payments-api-1", status: "stopped" }
    ],
    ...(faults === undefined ? {} : { faults })
  }]
})

const quiet = Logger.minimumLogLevel(LogLevel.Warning)

const fastRetry: ActionRetry = { attempts: 4, conflictDelay: Duration.millis(100), maxRetryAfter: Duration.seconds(5) }

const settingsFor = (url: string, key = KEY): ApiSettings => ({
  url: `${url}/api/v1`,
  apiKey: Redacted.make(key),
  apiVersion: "2025-10-28",
  timeout: Duration.seconds(5),
  retries: 3,
  concurrency: 4
})

const act = (url: string, action: ActionKind, vmUuid: string, key = KEY, options: ActOptions = {}) =>
  Effect.flatMap(CvmActions, (client) => client.act(action, vmUuid, options)).pipe(
    Effect.provide(CvmActions.layer(settingsFor(url, key), fastRetry).pipe(Layer.provide(FetchHttpClient.layer))),
    Effect.provide(quiet),
    Effect.exit
  )

const start = (faults?: unknown) => serveScenarioInput(scenario(faults), { port: 0 }).pipe(Effect.provide(quiet))

interface Logged {
  readonly method: string
  readonly path: string
  readonly status: number | null
  readonly api_key: string
  readonly user_agent: string | null
}

const requests = (sim: RunningSimulator): ReadonlyArray<Logged> => sim.state.requests.list()

const statusOf = (sim: RunningSimulator, vmUuid: string) =>
  Effect.map(sim.state.current, (world) => world.apps.get(APP)?.cvms.find((c) => c.vmUuid === vmUuid)?.status)

const failureOf = <A>(exit: Exit.Exit<A, { readonly reason: string; readonly status: number | null; readonly message: string; readonly attempts: number }>) => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : null
  if (failure === null) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return failure
}

describe("CvmActions against the simulator", () => {
  it.scopedLive("start posts to /cvms/{vm_uuid without dashes}/start with the key and the user agent, and the CVM starts", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const exit = yield* act(sim.url, "start", VM_STOPPED)
      expect(exit).toEqual(Exit.succeed({ status: "starting", attempts: 1 }))
      expect(requests(sim)).toMatchObject([{
        method: "POST",
        path: `/api/v1/cvms/${VM_STOPPED.replaceAll("-", "")}/start`,
        status: 200,
        api_key: "valid",
        user_agent: userAgent
      }])
      expect(yield* statusOf(sim, VM_STOPPED)).toBe("starting")
    }))

  it.scopedLive("shutdown is graceful (shutting_down), stop is forced (stopping)", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      expect(yield* act(sim.url, "shutdown", VM_RUNNING)).toEqual(Exit.succeed({ status: "shutting_down", attempts: 1 }))
      expect(yield* act(sim.url, "stop", VM_RUNNING)).toEqual(Exit.succeed({ status: "stopping", attempts: 1 }))
      expect(requests(sim).map((r) => r.path)).toEqual([
        `/api/v1/cvms/${VM_RUNNING.replaceAll("-", "")}/shutdown`,
        `/api/v1/cvms/${VM_RUNNING.replaceAll("-", "")}/stop`
      ])
    }))

  it.scopedLive("409 \"Another operation in progress\" is retried, and the action goes through once the CVM is free", () =>
    Effect.gen(function*() {
      const sim = yield* start({ actions: [409] })
      expect(yield* act(sim.url, "start", VM_STOPPED)).toEqual(Exit.succeed({ status: "starting", attempts: 2 }))
      expect(requests(sim).map((r) => r.status)).toEqual([409, 200])
    }))

  it.scopedLive("a CVM busy with a real operation: shutdown waits until its start has finished", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      yield* act(sim.url, "start", VM_STOPPED)
      const exit = yield* act(sim.url, "shutdown", VM_STOPPED)
      expect(Exit.isSuccess(exit) && exit.value.status).toBe("shutting_down")
      expect(Exit.isSuccess(exit) && exit.value.attempts).toBeGreaterThan(1)
      expect(requests(sim).map((r) => r.status)).toContain(409)
    }))

  it.scopedLive("before retrying a 409 it asks whether the action is still wanted, and sends nothing more when not", () =>
    Effect.gen(function*() {
      const sim = yield* start({ actions: [409] })
      let asked = 0
      const stillWanted = Effect.sync(() => {
        asked++
        return false
      })
      const failure = failureOf(yield* act(sim.url, "start", VM_STOPPED, KEY, { stillWanted }))
      expect(failure).toMatchObject({ reason: "superseded", status: 409, attempts: 1 })
      expect(failure.message).toContain("not sent again")
      expect(asked).toBe(1)
      expect(requests(sim)).toHaveLength(1)
      expect(yield* statusOf(sim, VM_STOPPED)).toBe("stopped")
    }))

  it.scopedLive("a CVM that stays busy fails as conflict after a bounded number of attempts", () =>
    Effect.gen(function*() {
      const sim = yield* start({ actions: [409, 409, 409, 409, 409, 409] })
      const failure = failureOf(yield* act(sim.url, "start", VM_STOPPED))
      expect(failure).toMatchObject({ reason: "conflict", status: 409, attempts: 4 })
      expect(failure.message).toBe("HTTP 409: Another operation in progress")
      expect(requests(sim)).toHaveLength(4)
      expect(yield* statusOf(sim, VM_STOPPED)).toBe("stopped")
    }))

  it.scopedLive("403 is not retried and says why", () =>
    Effect.gen(function*() {
      const sim = yield* start({ actions: [403] })
      const failure = failureOf(yield* act(sim.url, "shutdown", VM_RUNNING))
      expect(failure).toMatchObject({ reason: "forbidden", status: 403, attempts: 1 })
      expect(failure.message).toBe("HTTP 403: CVM managed by on-demand GPU rental")
      expect(requests(sim)).toHaveLength(1)
      expect(yield* statusOf(sim, VM_RUNNING)).toBe("running")
    }))

  it.scopedLive("an unknown CVM is not_found with the API's structured error", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const failure = failureOf(yield* act(sim.url, "start", "00000000-0000-4000-8000-000000000000"))
      expect(failure).toMatchObject({ reason: "not_found", status: 404, attempts: 1 })
      expect(failure.message).toContain("ERR-03-001")
    }))

  it.scopedLive("429 and 503 are retried only with a Retry-After; 500 is not retried", () =>
    Effect.gen(function*() {
      const sim = yield* start({ actions: [{ status: 429, retry_after: 0 }, { status: 503, retry_after: "0" }] })
      expect(yield* act(sim.url, "start", VM_STOPPED)).toEqual(Exit.succeed({ status: "starting", attempts: 3 }))

      const bare = yield* start({ actions: [429] })
      expect(failureOf(yield* act(bare.url, "start", VM_STOPPED))).toMatchObject({ reason: "rate_limited", attempts: 1 })

      const broken = yield* start({ actions: [500] })
      expect(failureOf(yield* act(broken.url, "start", VM_STOPPED))).toMatchObject({ reason: "server", status: 500, attempts: 1 })
      expect(requests(broken)).toHaveLength(1)
    }))

  it.scopedLive("a rejected key is auth, and no message carries the key", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      const wrong = "phak_wrong_key_987654321"
      const failure = failureOf(yield* act(sim.url, "start", VM_STOPPED, wrong))
      expect(failure).toMatchObject({ reason: "auth", status: 401 })
      expect(JSON.stringify(failure)).not.toContain(wrong)
    }))

  it.scopedLive("a vm_uuid that is not a UUID sends nothing", () =>
    Effect.gen(function*() {
      const sim = yield* start()
      expect(failureOf(yield* act(sim.url, "start", "../apps/x"))).toMatchObject({ reason: "invalid_id", attempts: 0 })
      expect(requests(sim)).toHaveLength(0)
    }))

  it.scopedLive("a redirect is not followed: the key never reaches another origin", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const elsewhere = createServer((req, res) => {
        seen.push(req.url ?? "")
        res.end("{}")
      })
      const redirector = createServer((_req, res) => {
        const { port } = elsewhere.address() as AddressInfo
        res.writeHead(307, { location: `http://127.0.0.1:${port}/steal` })
        res.end()
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => Promise.all([elsewhere, redirector].map((s) => new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve))))),
        () => Effect.promise(() => Promise.all([elsewhere, redirector].map((s) => new Promise((resolve) => s.close(resolve)))))
      )
      const { port } = redirector.address() as AddressInfo
      const failure = failureOf(yield* act(`http://127.0.0.1:${port}`, "start", VM_STOPPED))
      expect(failure).toMatchObject({ reason: "client", status: 307 })
      expect(failure.message).toContain("another origin")
      expect(seen).toEqual([])
    }))
})

describe("isBusyConflict", () => {
  it("is the API's busy answer only, not a 409 with an error code", () => {
    expect(isBusyConflict(JSON.stringify({ detail: "Another operation in progress" }))).toBe(true)
    expect(isBusyConflict(JSON.stringify({ detail: { message: "Another operation in progress" } }))).toBe(true)
    expect(isBusyConflict(JSON.stringify({ error_code: "ERR-03-010", message: "Multiple CVMs match this identifier" }))).toBe(false)
    expect(isBusyConflict("<html>conflict</html>")).toBe(false)
  })
})
