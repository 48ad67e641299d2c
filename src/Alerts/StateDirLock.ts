import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Duration, Effect, Either, Option, Schedule, Schema, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import { join } from "node:path"
import { syncDirectory, tempPrefix } from "./AtomicFile.js"
import { StateDirError } from "./StateDir.js"

export const lockFileName = "phala-drift.lock"
export const lockFilePath = (stateDir: string): string => join(stateDir, lockFileName)

const LockFile = Schema.Struct({
  version: Schema.Literal(1),
  pid: Schema.Int,
  hostname: Schema.String,
  /** `/proc/sys/kernel/random/boot_id`: the same host name and boot id mean the same PID namespace (usually). */
  boot_id: Schema.NullOr(Schema.String),
  /** Field 22 of `/proc/<pid>/stat`: with the PID it names one process, so a reused PID is not taken for the holder. */
  start_time: Schema.NullOr(Schema.String),
  started_at: Schema.String,
  token: Schema.String
})
export type LockHolder = typeof LockFile.Type
const decodeLock = Schema.decodeUnknownEither(Schema.parseJson(LockFile))

export interface ProcessIdentity {
  readonly pid: number
  readonly hostname: string
  readonly bootId: string | null
  readonly startTime: string | null
}

/** Field 22 (starttime, clock ticks since boot) of a `/proc/<pid>/stat` line; the name in field 2 may hold spaces. */
export const startTimeFromStat = (stat: string): string | null => {
  const close = stat.lastIndexOf(")")
  const value = close < 0 ? undefined : stat.slice(close + 2).split(" ")[19]
  return value === undefined || !/^\d+$/.test(value) ? null : value
}

const readTrimmed = (path: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(path)).pipe(
    Effect.map((text) => text.trim()),
    Effect.option
  )

const startTimeOf = (pid: number | "self") =>
  Effect.map(readTrimmed(`/proc/${pid}/stat`), Option.flatMapNullable(startTimeFromStat))

export const currentIdentity: Effect.Effect<ProcessIdentity, never, FileSystem.FileSystem> = Effect.gen(function*() {
  const bootId = yield* readTrimmed("/proc/sys/kernel/random/boot_id")
  const startTime = yield* startTimeOf("self")
  return { pid: process.pid, hostname: hostname(), bootId: Option.getOrNull(bootId), startTime: Option.getOrNull(startTime) }
})

export type Liveness = "alive" | "gone" | "unknown"

/** Asks the kernel whether the PID exists (EPERM means it does, owned by someone else). */
const pidExists = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return !(error instanceof Error && "code" in error && error.code === "ESRCH")
  }
}

/** Whether the holder's process still runs, judged from this PID namespace. */
export const processLiveness = (holder: LockHolder): Effect.Effect<Liveness, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const theirs = yield* startTimeOf(holder.pid)
    // no /proc entry: no /proc at all, or hidden (hidepid) when another user runs it; the kernel still knows
    if (Option.isNone(theirs)) return pidExists(holder.pid) ? "alive" : "gone"
    if (holder.start_time === null) return "alive"
    return theirs.value === holder.start_time ? "alive" : "gone"
  })

export interface LockFacts {
  /** Only consulted when the holder ran in this PID namespace. */
  readonly liveness: Liveness
  /** Since the holder last touched the lock file; null when unknown. */
  readonly heartbeatAgeMs: number | null
  readonly staleAfterMs: number
}

export interface LockVerdict {
  readonly stale: boolean
  readonly why: string
}

/**
 * Is a lock left by `holder` stale, seen from `self`? On the same host and boot the PID is checked: our own PID
 * means the holder was this container's previous process (restarted containers are often PID 1 again, with the
 * same host name), a PID that is gone or now belongs to a process started at another time means it died. A holder
 * elsewhere (another host or container, a shared volume) cannot be checked: its lock is stale only once its
 * heartbeat (the file's modification time) is older than `staleAfterMs`.
 */
export const judgeLock = (holder: LockHolder, self: ProcessIdentity, facts: LockFacts): LockVerdict => {
  const local = holder.hostname === self.hostname && holder.boot_id !== null && holder.boot_id === self.bootId
  if (local && holder.pid === self.pid) return { stale: true, why: `its PID ${holder.pid} is this process's own` }
  if (local && facts.liveness === "gone") return { stale: true, why: `process ${holder.pid} is no longer running` }
  if (local && facts.liveness === "alive") return { stale: false, why: `process ${holder.pid} is running` }
  const age = facts.heartbeatAgeMs
  if (age !== null && age >= facts.staleAfterMs) {
    return { stale: true, why: `its holder has not refreshed it for ${Math.round(age / 1000)} s` }
  }
  return {
    stale: false,
    why: age === null
      ? "its age is unknown"
      : `it was refreshed ${Math.round(age / 1000)} s ago; it counts as abandoned after ${Math.round(facts.staleAfterMs / 1000)} s`
  }
}

export interface LockOptions {
  /** How often the holder touches the lock file. */
  readonly heartbeat?: Duration.Duration
  /** A lock whose holder cannot be checked is taken over after this long without a heartbeat. */
  readonly staleAfter?: Duration.Duration
  readonly identity?: ProcessIdentity
  readonly liveness?: (holder: LockHolder) => Effect.Effect<Liveness, never, FileSystem.FileSystem>
  /** After every heartbeat; a failure means the lock file vanished and could not be recreated, or was taken over. */
  readonly onHeartbeat?: (result: Either.Either<void, StateDirError>) => Effect.Effect<void>
}

export const lockDefaults = { heartbeat: Duration.seconds(15), staleAfter: Duration.seconds(60) } as const

export interface StateDirLock {
  readonly path: string
  readonly holder: LockHolder
  /** Touches the lock; recreates it when it vanished (state_dir deleted); fails when another process holds it now. */
  readonly refresh: Effect.Effect<void, StateDirError>
}

const describeHolder = (holder: LockHolder): string =>
  `pid ${holder.pid} on host ${JSON.stringify(holder.hostname)}, started ${holder.started_at}`

/**
 * Takes `<stateDir>/phala-drift.lock` for this process, or fails naming the directory and the holder. The lock is
 * written whole to a temp file and hard-linked into place (an atomic create-if-absent), refreshed every
 * `heartbeat` and removed when the scope closes, if it is still ours.
 */
export const acquireLock = (
  stateDir: string,
  options: LockOptions = {}
): Effect.Effect<StateDirLock, StateDirError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = lockFilePath(stateDir)
    const self = options.identity ?? (yield* currentIdentity)
    const liveness = options.liveness ?? processLiveness
    const staleAfterMs = Duration.toMillis(options.staleAfter ?? lockDefaults.staleAfter)
    const holder: LockHolder = {
      version: 1,
      pid: self.pid,
      hostname: self.hostname,
      boot_id: self.bootId,
      start_time: self.startTime,
      started_at: new Date(yield* Clock.currentTimeMillis).toISOString(),
      token: randomBytes(16).toString("hex")
    }
    const content = `${JSON.stringify(holder)}\n`
    const fail = (detail: string) => new StateDirError({ path: stateDir, detail })
    const failWith = (what: string) => (error: PlatformError) => fail(`${what} (${error.message})`)

    /** True when the lock file is now ours, false when one exists already. */
    const writeNew = (target: string) =>
      Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open(target, { flag: "wx", mode: 0o644 })
        yield* file.writeAll(new TextEncoder().encode(content))
        yield* file.sync
      }))
    const exists = (error: PlatformError) => error._tag === "SystemError" && error.reason === "AlreadyExists"

    const create: Effect.Effect<boolean, StateDirError> = Effect.gen(function*() {
      const temp = join(stateDir, `${tempPrefix}lock-${randomBytes(6).toString("hex")}`)
      yield* writeNew(temp).pipe(Effect.mapError(failWith("cannot write the lock file")))
      const linked = yield* Effect.either(fs.link(temp, path))
      yield* Effect.ignore(fs.remove(temp))
      if (Either.isLeft(linked)) {
        if (exists(linked.left)) return false
        // a file system without hard links: an exclusive create is atomic too, only its content may be torn by a crash
        const created = yield* Effect.either(writeNew(path))
        if (Either.isLeft(created)) {
          if (exists(created.left)) return false
          return yield* Effect.fail(failWith(`cannot create the lock file ${path}`)(created.left))
        }
      }
      yield* syncDirectory(stateDir)
      return true
    }).pipe(Effect.provideService(FileSystem.FileSystem, fs))

    const read = fs.readFileString(path).pipe(Effect.map((text) => ({ text, holder: Either.getRight(decodeLock(text)) })))

    const heartbeatAge = fs.stat(path).pipe(
      Effect.flatMap((info) => Effect.map(Clock.currentTimeMillis, (now) => Option.map(info.mtime, (m) => now - m.getTime()))),
      Effect.map(Option.getOrNull),
      Effect.orElseSucceed(() => null)
    )

    const takeOver = Effect.gen(function*() {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (yield* create) return
        const existing = yield* Effect.either(read)
        if (Either.isLeft(existing)) {
          if (existing.left._tag === "SystemError" && existing.left.reason === "NotFound") continue
          return yield* Effect.fail(failWith(`cannot read the lock file ${path}`)(existing.left))
        }
        const { text } = existing.right
        const verdict = Option.isNone(existing.right.holder)
          ? { stale: true, why: "its content is not a phala-drift lock" }
          : judgeLock(existing.right.holder.value, self, {
            liveness: yield* liveness(existing.right.holder.value),
            heartbeatAgeMs: yield* heartbeatAge,
            staleAfterMs
          })
        const who = Option.match(existing.right.holder, { onNone: () => "an unknown holder", onSome: describeHolder })
        if (!verdict.stale) {
          return yield* Effect.fail(fail(
            `in use by another phala-drift process (${who}; lock file ${path}: ${verdict.why}). ` +
              "Stop that process, or give this one its own --state-dir"
          ))
        }
        yield* Effect.logWarning("taking over a stale state_dir lock").pipe(
          Effect.annotateLogs({ path, holder: who, reason: verdict.why })
        )
        // moved aside, not deleted: only the file judged stale may go, never one a racing process just created
        const aside = `${path}.stale-${randomBytes(6).toString("hex")}`
        const moved = yield* Effect.either(fs.rename(path, aside))
        if (Either.isLeft(moved)) continue
        const movedText = yield* Effect.orElseSucceed(fs.readFileString(aside), () => "")
        if (movedText !== text) {
          yield* Effect.ignore(fs.link(aside, path))
          yield* Effect.ignore(fs.remove(aside))
          return yield* Effect.fail(fail(`another process took the lock file ${path} at the same time`))
        }
        yield* Effect.ignore(fs.remove(aside))
      }
      return yield* Effect.fail(fail(`cannot take the lock file ${path}: it keeps changing`))
    })

    yield* takeOver

    const refresh: Effect.Effect<void, StateDirError> = Effect.gen(function*() {
      const current = yield* Effect.either(read)
      if (Either.isLeft(current)) {
        if (!(current.left._tag === "SystemError" && current.left.reason === "NotFound")) {
          return yield* Effect.fail(failWith(`cannot read the lock file ${path}`)(current.left))
        }
        yield* fs.makeDirectory(stateDir, { recursive: true }).pipe(Effect.mapError(failWith("cannot recreate the directory")))
        if (!(yield* create)) return yield* Effect.fail(fail(`another process created the lock file ${path}`))
        return yield* Effect.logWarning("state_dir lock file was gone; recreated").pipe(Effect.annotateLogs({ path }))
      }
      const theirs = current.right.holder
      if (Option.isNone(theirs) || theirs.value.token !== holder.token) {
        const who = Option.match(theirs, { onNone: () => "an unreadable lock", onSome: describeHolder })
        return yield* Effect.fail(fail(`the lock file ${path} now belongs to another process (${who})`))
      }
      const now = new Date(yield* Clock.currentTimeMillis)
      yield* fs.utimes(path, now, now).pipe(Effect.mapError(failWith(`cannot refresh the lock file ${path}`)))
    })

    const release = Effect.gen(function*() {
      const current = yield* read
      if (Option.isSome(current.holder) && current.holder.value.token === holder.token) yield* fs.remove(path)
    }).pipe(Effect.ignore)
    yield* Effect.addFinalizer(() => release)

    const onHeartbeat = options.onHeartbeat ??
      ((result: Either.Either<void, StateDirError>) =>
        Either.isLeft(result) ? Effect.logError("state_dir lock heartbeat failed", result.left) : Effect.void)
    yield* Effect.forkScoped(Effect.interruptible(
      Effect.either(refresh).pipe(
        Effect.flatMap(onHeartbeat),
        Effect.repeat(Schedule.spaced(options.heartbeat ?? lockDefaults.heartbeat))
      )
    ))

    return { path, holder, refresh }
  }).pipe(Effect.annotateLogs({ service: "StateDirLock" }))
