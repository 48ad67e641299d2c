import { FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Logger, LogLevel, Schedule, Scope } from "effect"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { checkWritableDir, StateDirError } from "../../src/Alerts/StateDir.js"
import {
  acquireLock,
  currentIdentity,
  judgeLock,
  type LockHolder,
  lockFilePath,
  type ProcessIdentity,
  startTimeFromStat
} from "../../src/Alerts/StateDirLock.js"

const TestLayer = Layer.mergeAll(NodeFileSystem.layer, Logger.minimumLogLevel(LogLevel.None))
const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "state-dir-" }))

const self: ProcessIdentity = { pid: 4242, hostname: "drift-0", bootId: "boot-a", startTime: "9000" }
const holderOf = (overrides: Partial<LockHolder> = {}): LockHolder => ({
  version: 1,
  pid: 77,
  hostname: "drift-0",
  boot_id: "boot-a",
  start_time: "100",
  started_at: "2026-11-28T16:00:00.000Z",
  token: "someone-else",
  ...overrides
})
const facts = { liveness: "unknown" as const, heartbeatAgeMs: 5_000, staleAfterMs: 60_000 }

/**
 * Another process's lock, put in place whole (as acquireLock does): a heartbeat reading between a truncate and a
 * write would see an empty file and report "an unreadable lock" instead of the holder.
 */
const writeLock = (stateDir: string, holder: LockHolder) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => {
    const temp = `${lockFilePath(stateDir)}.test-${process.pid}`
    return fs.writeFileString(temp, `${JSON.stringify(holder)}\n`).pipe(Effect.zipRight(fs.rename(temp, lockFilePath(stateDir))))
  })

const readHolder = (stateDir: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(lockFilePath(stateDir))).pipe(
    Effect.map((text) => JSON.parse(text) as LockHolder)
  )

/** The PID of a process that has exited: certainly not running any more. */
const deadPid = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" })
    child.once("error", reject)
    child.once("exit", () => resolve(child.pid ?? 0))
  })

describe("judgeLock", () => {
  it("on the same host and boot: our own PID is a previous incarnation, a gone process is stale, a live one holds", () => {
    expect(judgeLock(holderOf({ pid: self.pid }), self, facts)).toMatchObject({ stale: true })
    expect(judgeLock(holderOf(), self, { ...facts, liveness: "gone" })).toMatchObject({ stale: true })
    expect(judgeLock(holderOf(), self, { ...facts, liveness: "alive" })).toEqual({ stale: false, why: "process 77 is running" })
  })

  it("a holder elsewhere counts as abandoned only once its heartbeat is older than staleAfter", () => {
    for (const elsewhere of [holderOf({ hostname: "drift-1" }), holderOf({ boot_id: "boot-b" }), holderOf({ boot_id: null })]) {
      // its PID means nothing here, even when it equals ours or looks gone
      expect(judgeLock({ ...elsewhere, pid: self.pid }, self, { ...facts, liveness: "gone" }).stale).toBe(false)
      expect(judgeLock(elsewhere, self, { ...facts, heartbeatAgeMs: 61_000 }).stale).toBe(true)
      expect(judgeLock(elsewhere, self, { ...facts, heartbeatAgeMs: null }).stale).toBe(false)
    }
  })

  it("reads the start time from /proc/<pid>/stat, whatever the process name holds", () => {
    const stat = "123 (we ird) name) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 12345 67 18446744073709551615"
    expect(startTimeFromStat(stat)).toBe("987654")
    expect(startTimeFromStat("garbage")).toBeNull()
    expect(startTimeFromStat(readFileSync("/proc/self/stat", "utf8"))).toMatch(/^\d+$/)
  })
})

describe("state_dir lock", () => {
  it.scopedLive("is taken, refused to a second holder with the path and the holder's pid, and released on close", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = yield* tempDir
      const scope = yield* Scope.make()
      const lock = yield* acquireLock(stateDir).pipe(Scope.extend(scope))
      const me = yield* currentIdentity
      expect(yield* readHolder(stateDir)).toMatchObject({ pid: process.pid, hostname: me.hostname, token: lock.holder.token })
      expect(lock.holder.start_time).toMatch(/^\d+$/)

      // a second process: another PID in this namespace whose process runs, started when the lock says
      const error = yield* Effect.flip(
        acquireLock(stateDir, { identity: { ...me, pid: me.pid + 1, startTime: "1" } })
      )
      expect(error).toBeInstanceOf(StateDirError)
      expect(error.message).toContain(`state_dir ${stateDir}: in use by another phala-drift process (pid ${process.pid}`)
      expect(error.message).toContain(lockFilePath(stateDir))
      expect(error.message).toContain(`process ${process.pid} is running`)

      yield* Scope.close(scope, Exit.void)
      expect(yield* fs.exists(lockFilePath(stateDir))).toBe(false)
    }).pipe(Effect.provide(TestLayer)))

  it.scopedLive("takes over a lock whose process is gone, whose PID is ours, or whose PID now names another process", () =>
    Effect.gen(function*() {
      const me = yield* currentIdentity
      const parentStart = startTimeFromStat(readFileSync(`/proc/${process.ppid}/stat`, "utf8"))
      const dead = yield* Effect.promise(deadPid)
      const stale = [
        holderOf({ pid: dead, hostname: me.hostname, boot_id: me.bootId }),
        // a restarted container: PID 1 again, same host name, another start time
        holderOf({ pid: process.pid, hostname: me.hostname, boot_id: me.bootId, start_time: "1" }),
        // the PID was reused by a process that started at another time
        holderOf({ pid: process.ppid, hostname: me.hostname, boot_id: me.bootId, start_time: `${parentStart}0` })
      ]
      for (const holder of stale) {
        const stateDir = yield* tempDir
        yield* writeLock(stateDir, holder)
        const scope = yield* Scope.make()
        const lock = yield* acquireLock(stateDir).pipe(Scope.extend(scope))
        expect((yield* readHolder(stateDir)).token).toBe(lock.holder.token)
        yield* Scope.close(scope, Exit.void)
      }
      // the same PID with its real start time is that process, alive: refused
      const held = yield* tempDir
      yield* writeLock(held, holderOf({ pid: process.ppid, hostname: me.hostname, boot_id: me.bootId, start_time: parentStart }))
      const error = yield* Effect.flip(acquireLock(held))
      expect(error.message).toContain(`pid ${process.ppid}`)
      expect((yield* readHolder(held)).token).toBe("someone-else")
    }).pipe(Effect.provide(TestLayer)))

  it.scopedLive("a holder on another host holds until its heartbeat is older than staleAfter; garbage is stale", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = yield* tempDir
      yield* writeLock(stateDir, holderOf({ hostname: "some-other-host" }))
      const error = yield* Effect.flip(acquireLock(stateDir, { staleAfter: Duration.seconds(60) }))
      expect(error.message).toContain("pid 77 on host \"some-other-host\"")
      expect(error.message).toContain("counts as abandoned after 60 s")
      const old = new Date(Date.now() - 120_000)
      yield* fs.utimes(lockFilePath(stateDir), old, old)
      const scope = yield* Scope.make()
      yield* acquireLock(stateDir, { staleAfter: Duration.seconds(60) }).pipe(Scope.extend(scope))
      expect((yield* readHolder(stateDir)).pid).toBe(process.pid)
      yield* Scope.close(scope, Exit.void)

      yield* fs.writeFileString(lockFilePath(stateDir), "{\"half\":")
      yield* acquireLock(stateDir)
      expect((yield* readHolder(stateDir)).pid).toBe(process.pid)
    }).pipe(Effect.provide(TestLayer)))

  it.scopedLive("the heartbeat refreshes the lock, recreates it after state_dir was deleted, and reports a takeover", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = join(yield* tempDir, "state")
      yield* fs.makeDirectory(stateDir)
      const results: Array<string> = []
      const lock = yield* acquireLock(stateDir, {
        heartbeat: Duration.millis(20),
        onHeartbeat: (result) => Effect.sync(() => void results.push(result._tag === "Right" ? "ok" : result.left.detail))
      })
      const old = new Date(Date.now() - 120_000)
      yield* fs.utimes(lockFilePath(stateDir), old, old)
      const awaitLock = (check: (mtime: number) => boolean) =>
        fs.stat(lockFilePath(stateDir)).pipe(
          Effect.map((info) => info.mtime._tag === "Some" && check(info.mtime.value.getTime())),
          Effect.orElseSucceed(() => false),
          Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (ok) => ok }),
          Effect.timeout("10 seconds")
        )
      yield* awaitLock((mtime) => mtime > old.getTime() + 60_000)

      // deleted in one step (moved away), so the heartbeat never races a half-done recursive removal
      yield* fs.rename(stateDir, `${stateDir}-deleted`)
      yield* awaitLock(() => true)
      expect((yield* readHolder(stateDir)).token).toBe(lock.holder.token)

      yield* writeLock(stateDir, holderOf({ hostname: "thief" }))
      yield* Effect.repeat(Effect.sync(() => results.some((r) => r.includes("now belongs to another process"))), {
        schedule: Schedule.spaced("10 millis"),
        until: (found) => found
      }).pipe(Effect.timeout("10 seconds"))
      expect(results.find((r) => r.includes("now belongs to another process"))).toContain("pid 77 on host \"thief\"")
      // never touched: the other process's lock stays as it is
      expect((yield* readHolder(stateDir)).hostname).toBe("thief")
    }).pipe(Effect.provide(TestLayer)))
})

describe("checkWritableDir", () => {
  it.scopedLive("creates the directory and leaves nothing behind", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = join(yield* tempDir, "a", "b")
      yield* checkWritableDir(dir)
      expect(yield* fs.readDirectory(dir)).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scopedLive("names the path when it is a regular file or lies under one (a read-only dir for root too)", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const base = yield* tempDir
      const file = join(base, "state")
      yield* fs.writeFileString(file, "not a directory")
      const asFile = yield* Effect.flip(checkWritableDir(file))
      expect(asFile.message).toMatch(new RegExp(`^state_dir ${file}: cannot create the directory \\(`))
      const under = yield* Effect.flip(checkWritableDir(join(file, "data")))
      expect(under.path).toBe(join(file, "data"))
      expect(under.message).toContain("ENOTDIR")
    }).pipe(Effect.provide(TestLayer)))
})
