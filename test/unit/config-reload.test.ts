import { FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Ref, Stream, TestClock } from "effect"
import { join } from "node:path"
import { parseConfig, readSecretFileWith } from "../../src/Config/Load.js"
import { type ConfigParser, configStoreLive } from "../../src/Config/ConfigStoreLive.js"
import { ConfigStore, type ReloadResult } from "../../src/Runtime/ConfigStore.js"
import { Events } from "../../src/Runtime/Events.js"
import { ReloadTriggersLayer } from "../../src/Daemon/ReloadTriggers.js"
import type { DaemonConfig } from "../../src/Core/Domain/App.js"
import { Metrics } from "../../src/Metrics/Metrics.js"
import { captureLogs } from "../support/logs.js"
import { servedText } from "../support/served.js"

const APP = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const env = { PHALA_CLOUD_API_KEY: "phak_test_key_value" }
const text = (extra = "") => `version: 1\n${extra}apps:\n  - app_id: ${APP}\n`

const inThread: ConfigParser = (t, file, e, options) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => parseConfig(t, file, e, readSecretFileWith(fs, options)))

/** A store on a real temporary file, with `parse` in place of the worker-thread parser. */
const withStore = <A, E>(
  parse: ConfigParser,
  body: (store: ConfigStore["Type"], write: (t: string) => Effect.Effect<void>) => Effect.Effect<A, E, Metrics>
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped()
    const path = join(dir, "desired.yaml")
    yield* fs.writeFileString(path, text())
    const initial: DaemonConfig = yield* inThread(text(), path, env, {})
    const write = (t: string) => Effect.orDie(fs.writeFileString(path, t))
    const layer = configStoreLive({ initial, env, patch: (c) => c, parse }).pipe(
      Layer.provideMerge(Metrics.DefaultWithoutDependencies),
      Layer.provideMerge(Events.Default)
    )
    return yield* Effect.flatMap(ConfigStore, (store) => body(store, write)).pipe(Effect.provide(layer))
  }).pipe(Effect.provide(NodeFileSystem.layer))

const reloadMetric = Effect.gen(function*() {
  const metrics = yield* Metrics
  return /^phala_drift_config_last_reload_successful (\d)$/m.exec((yield* servedText(metrics)))?.[1]
})

describe("ConfigStore", () => {
  it.scoped("a defect while loading is a rejected reload (metric 0, logged), and the next reload works", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const flaky: ConfigParser = (t, file, e, options) =>
        Effect.flatMap(Ref.getAndUpdate(calls, (n) => n + 1), (n) => (n === 0 ? Effect.die(new RangeError("boom")) : inThread(t, file, e, options)))
      yield* withStore(flaky, (store) =>
        Effect.gen(function*() {
          const first = yield* store.reload("test")
          expect(first._tag).toBe("Rejected")
          expect(first._tag === "Rejected" && first.errors[0]).toMatch(/desired\.yaml:1:1: cannot reload: internal error \(RangeError: boom\)$/)
          expect(yield* reloadMetric).toBe("0")
          expect(logs.lines.some((l) => l.includes("config reload rejected") && l.includes("RangeError: boom"))).toBe(true)
          expect(logs.lines.join("\n")).not.toMatch(/\bat .*\.ts:\d+/)
          expect((yield* store.reload("test"))._tag).toBe("Reloaded")
          expect(yield* reloadMetric).toBe("1")
        }))
    }).pipe(Effect.provide(logs.layer))
  })

  it.scoped("says that state_dir and server.tls changes need a restart, as for server.listen", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      yield* withStore(inThread, (store, write) =>
        Effect.gen(function*() {
          yield* write(text("state_dir: /var/lib/elsewhere\nserver:\n  tls: { cert_file: c.pem, key_file: k.pem }\n  listen: 127.0.0.1:9999\n"))
          expect((yield* store.reload("test"))._tag).toBe("Reloaded")
          const warnings = logs.lines.filter((l) => l.includes("level=WARN")).join("\n")
          expect(warnings).toContain("state_dir changed: takes effect after a restart")
          expect(warnings).toContain("server.tls changed: takes effect after a restart")
          expect(warnings).toContain("server.listen changed: takes effect after a restart")
          expect((yield* store.current).stateDir).toBe("/var/lib/elsewhere")
        }))
    }).pipe(Effect.provide(logs.layer))
  })

  it.scoped("a reload in progress is cancelled on shutdown, and the old config stays", () =>
    withStore(() => Effect.never, (store, write) =>
      Effect.gen(function*() {
        yield* write(text("state_dir: /elsewhere\n"))
        const pending = yield* Effect.fork(store.reload("test"))
        yield* Effect.yieldNow()
        yield* store.cancelReloads
        expect(yield* Fiber.join(pending)).toEqual<ReloadResult>({ _tag: "Cancelled" })
        expect((yield* store.current).stateDir).toBe("./data")
      })))

  it.scoped("a file over the size limit is rejected once, not read (the watch asks every 2 s)", () =>
    withStore(inThread, (store, write) =>
      Effect.gen(function*() {
        yield* write(`version: 1\napps: []\n#${"x".repeat(8 * 1024 * 1024)}\n`)
        const first = yield* store.reloadIfChanged("watch")
        expect(first._tag === "Rejected" && first.errors[0]).toMatch(/the file is larger than 8 MiB; not read$/)
        expect((yield* store.reloadIfChanged("watch"))._tag).toBe("Unchanged")
      })))
})

describe("ReloadTriggersLayer", () => {
  /** A store whose checks are counted; the first one dies, as a defect anywhere in a reload would. */
  const fakeStore = (checks: Ref.Ref<number>, reasons: Ref.Ref<ReadonlyArray<string>>) =>
    Layer.succeed(ConfigStore, {
      current: Effect.dieMessage("unused"),
      changes: Stream.empty,
      reload: (reason: string) => Effect.as(Ref.update(reasons, (r) => [...r, reason]), { _tag: "Unchanged" } as const),
      reloadIfChanged: () =>
        Effect.flatMap(Ref.getAndUpdate(checks, (n) => n + 1), (n) =>
          n === 0 ? Effect.die(new Error("watch defect")) : Effect.succeed<ReloadResult>({ _tag: "Unchanged" })),
      cancelReloads: Effect.void
    })

  it.scoped("the file watch outlives a defect in one check, and logs it", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const checks = yield* Ref.make(0)
      const reasons = yield* Ref.make<ReadonlyArray<string>>([])
      yield* Layer.build(ReloadTriggersLayer.pipe(Layer.provide(fakeStore(checks, reasons))))
      for (let i = 0; i < 3; i++) {
        yield* TestClock.adjust("2 seconds")
        yield* Effect.yieldNow()
      }
      expect(yield* Ref.get(checks)).toBeGreaterThanOrEqual(3)
      expect(logs.lines.some((l) => l.includes("config file check failed; still watching") && l.includes("watch defect"))).toBe(true)
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("a reload started by SIGHUP is a fiber of the layer's scope: shutdown ends it", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const hanging = Layer.succeed(ConfigStore, {
        current: Effect.dieMessage("unused"),
        changes: Stream.empty,
        reload: () =>
          Deferred.succeed(started, undefined).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
          ),
        reloadIfChanged: () => Effect.succeed<ReloadResult>({ _tag: "Unchanged" }),
        // the store's own cancellation does nothing here: only the layer's scope can end the SIGHUP fiber
        cancelReloads: Effect.void
      })
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(ReloadTriggersLayer.pipe(Layer.provide(hanging)))
        process.emit("SIGHUP", "SIGHUP")
        yield* Deferred.await(started).pipe(Effect.timeout("5 seconds"))
      }))
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
    }).pipe(Effect.provide(captureLogs().layer)))

  it.scoped("logs each SIGHUP before reloading", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const reasons = yield* Ref.make<ReadonlyArray<string>>([])
      yield* Layer.build(ReloadTriggersLayer.pipe(Layer.provide(fakeStore(yield* Ref.make(1), reasons))))
      process.emit("SIGHUP", "SIGHUP")
      yield* Effect.repeat(Ref.get(reasons), { until: (r) => r.length > 0 })
      expect(yield* Ref.get(reasons)).toEqual(["SIGHUP"])
      expect(logs.lines.some((l) => l.includes("SIGHUP received: reloading the config"))).toBe(true)
    }).pipe(Effect.provide(logs.layer))
  })
})
