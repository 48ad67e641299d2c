import * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Effect, Either, Schema } from "effect"
import { join } from "node:path"
import { Alert } from "../Core/Domain/Alert.js"
import { writeFileAtomic } from "./AtomicFile.js"
import type { LastSent } from "../Core/Alerting/Resend.js"

/** What survives a restart of the alerting side. */
export interface AlertStateSnapshot {
  /** By fingerprint. */
  readonly alerts: ReadonlyMap<string, Alert>
  /** Per Alertmanager receiver name: what it was last sent, by fingerprint. */
  readonly alertmanagerSent: ReadonlyMap<string, LastSent>
  /** Epoch ms of the last rule evaluation, so a restart can tell how long alerts went unobserved. */
  readonly evaluatedAt: number | null
}

export const emptyAlertState: AlertStateSnapshot = { alerts: new Map(), alertmanagerSent: new Map(), evaluatedAt: null }

export const stateFileName = "alerts.json"
export const stateFilePath = (stateDir: string): string => join(stateDir, stateFileName)

const SentRecord = Schema.Struct({
  at: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("sent_at")),
  state: Schema.Literal("pending", "firing", "resolved")
})

/** Alerts by fingerprint in memory, a list on disk. */
const AlertsByFingerprint = Schema.transform(
  Schema.Array(Alert),
  Schema.ReadonlyMapFromSelf({ key: Schema.String, value: Schema.typeSchema(Alert) }),
  {
    strict: true,
    decode: (alerts) => new Map(alerts.map((alert) => [alert.fingerprint, alert])),
    encode: (alerts) => [...alerts.values()]
  }
)

/** Records in memory, an object on disk: `{ key: value }`. */
const MapOfRecord = <V, I>(value: Schema.Schema<V, I>) =>
  Schema.transform(
    Schema.Record({ key: Schema.String, value }),
    Schema.ReadonlyMapFromSelf({ key: Schema.String, value: Schema.typeSchema(value) }),
    {
      strict: true,
      decode: (record) => new Map(Object.entries(record)),
      encode: (map) => Object.fromEntries(map)
    }
  )

/**
 * `alerts.json`: one schema reads and writes it, so what is written is exactly what can be read back, and an
 * impossible alert can do neither.
 */
const StateFile = Schema.Struct({
  version: Schema.Literal(1),
  savedAt: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("saved_at")),
  evaluatedAt: Schema.propertySignature(Schema.NullOr(Schema.Number)).pipe(Schema.fromKey("evaluated_at")),
  alerts: AlertsByFingerprint,
  alertmanagerSent: Schema.propertySignature(MapOfRecord(MapOfRecord(SentRecord))).pipe(Schema.fromKey("alertmanager_sent"))
})
const StateFileJson = Schema.parseJson(StateFile, { space: 2 })
const decodeStateFile = Schema.decodeUnknownEither(StateFileJson)
const encodeStateFile = Schema.encodeSync(StateFileJson)

export const encodeAlertState = (state: AlertStateSnapshot, savedAt: number): string =>
  `${encodeStateFile({ version: 1, savedAt, ...state })}\n`

export const decodeAlertState = (text: string): Either.Either<AlertStateSnapshot, string> =>
  Either.match(decodeStateFile(text), {
    onLeft: (error) => Either.left(error.message),
    onRight: ({ alertmanagerSent, alerts, evaluatedAt }) => Either.right({ alerts, alertmanagerSent, evaluatedAt })
  })

/** Atomically replaces `<stateDir>/alerts.json`. */
export const saveAlertState = (
  stateDir: string,
  state: AlertStateSnapshot
): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(stateDir, { recursive: true })
    yield* writeFileAtomic(stateFilePath(stateDir), encodeAlertState(state, yield* Clock.currentTimeMillis))
  })

// ---- the announced ledger: a second, rarely written copy of what receivers were told

export const announcedFileName = "announced.json"
export const announcedFilePath = (stateDir: string): string => join(stateDir, announcedFileName)

const AnnouncedFile = Schema.Struct({
  version: Schema.Literal(1),
  savedAt: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("saved_at")),
  alerts: Schema.Array(Alert)
})
const AnnouncedFileJson = Schema.parseJson(AnnouncedFile)
const decodeAnnouncedFile = Schema.decodeUnknownEither(AnnouncedFileJson)
const encodeAnnouncedFile = Schema.encodeSync(AnnouncedFileJson)

/** Alerts receivers were told about (firing, or resolved and still re-sent). */
export const announcedAlerts = (alerts: ReadonlyMap<string, Alert>): ReadonlyArray<Alert> =>
  [...alerts.values()].filter((alert) => alert.announced)

/** Changes only with a transition (announced, resolved, dropped), so the ledger is not rewritten every cycle. */
export const announcedKey = (alerts: ReadonlyMap<string, Alert>): string =>
  JSON.stringify(
    announcedAlerts(alerts).map((a) => [a.fingerprint, a.state, a.activeAt, a.firedAt, a.resolvedAt]).sort()
  )

/** Atomically replaces `<stateDir>/announced.json`. */
export const saveAnnounced = (
  stateDir: string,
  alerts: ReadonlyMap<string, Alert>
): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const file = encodeAnnouncedFile({ version: 1, savedAt: yield* Clock.currentTimeMillis, alerts: announcedAlerts(alerts) })
    yield* writeFileAtomic(announcedFilePath(stateDir), `${file}\n`)
  })

const asideSuffix = (now: number): string => new Date(now).toISOString().replace(/[:.]/g, "-")

/**
 * Without `alerts.json` the announced alerts come back from the ledger: no second "firing" with a new event id for
 * an incident receivers know, and its resolution is still sent. Pending timers start over.
 */
const recoverAnnounced = (stateDir: string): Effect.Effect<AlertStateSnapshot, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = announcedFilePath(stateDir)
    const text = yield* Effect.either(fs.readFileString(path))
    if (Either.isLeft(text)) {
      if (!(text.left._tag === "SystemError" && text.left.reason === "NotFound")) {
        yield* Effect.logError("cannot read the announced-alerts ledger either").pipe(
          Effect.annotateLogs({ path, error: text.left.message })
        )
      }
      return emptyAlertState
    }
    const decoded = decodeAnnouncedFile(text.right)
    if (Either.isLeft(decoded)) {
      yield* Effect.logError("the announced-alerts ledger is corrupt too; starting without alert state").pipe(
        Effect.annotateLogs({ path, error: decoded.left.message.slice(0, 500) })
      )
      return emptyAlertState
    }
    const alerts = decoded.right.alerts
    if (alerts.length > 0) {
      yield* Effect.logWarning("alert state recovered from the announced-alerts ledger").pipe(
        Effect.annotateLogs({ path, alerts: alerts.length })
      )
    }
    return { ...emptyAlertState, alerts: new Map(alerts.map((alert) => [alert.fingerprint, alert])) }
  })

/**
 * Loads the saved alert state. A missing `alerts.json` is a first start, unless the announced-alerts ledger has
 * entries. A file that cannot be read or decoded is logged, moved aside to `alerts.json.corrupt-<time>` for a human
 * to look at, and the announced alerts are recovered from the ledger; without that too the daemon starts with no
 * alerts: losing alert state is better than not monitoring at all.
 */
export const loadAlertState = (stateDir: string): Effect.Effect<AlertStateSnapshot, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = stateFilePath(stateDir)
    const text = yield* Effect.either(fs.readFileString(path))
    if (Either.isLeft(text)) {
      if (!(text.left._tag === "SystemError" && text.left.reason === "NotFound")) {
        yield* Effect.logError("cannot read alert state").pipe(Effect.annotateLogs({ path, error: text.left.message }))
      }
      return yield* recoverAnnounced(stateDir)
    }
    const decoded = decodeAlertState(text.right)
    if (Either.isRight(decoded)) return decoded.right
    const aside = `${path}.corrupt-${asideSuffix(yield* Clock.currentTimeMillis)}`
    const moved = yield* Effect.either(fs.rename(path, aside))
    yield* Effect.logError("alert state file is corrupt, moved aside").pipe(
      Effect.annotateLogs({
        path,
        moved_to: Either.isRight(moved) ? aside : null,
        error: decoded.left.slice(0, 500)
      })
    )
    return yield* recoverAnnounced(stateDir)
  }).pipe(Effect.annotateLogs({ service: "StateStore" }))
