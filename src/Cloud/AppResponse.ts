import { Either, ParseResult, Schema } from "effect"
import { type AppId, normaliseAppId } from "../Core/Domain/AppId.js"
import type { ObservedApp, ObservedCvm } from "../Core/Domain/Observation.js"
import { isAppResponse } from "./AppResponseGuard.js"
import { maxJsonDepth, nestsAtMost } from "./JsonDepth.js"

// Wire format of `GET /apps/{app_id}` (reference §2). Only the fields the monitor reads are declared;
// unknown fields are ignored. A field we read with the wrong type fails the decode (→ bad_response).

const nullish = <A, I>(schema: Schema.Schema<A, I>) => Schema.optional(Schema.NullOr(schema))

export const MachineInfo = Schema.Struct({
  vcpu: nullish(Schema.Int),
  memory: nullish(Schema.Number),
  disk_size: nullish(Schema.Number)
}).annotations({ identifier: "MachineInfo" })

/**
 * A CVM in the `2025-10-28` shape: memory in MB, disk in GB. It has no `resource` key: one means CVMInfo, so a broken
 * CVMInfo never passes as a legacy CVM with every attribute null, whatever version the server answered in.
 */
export const CvmBasicInfo = Schema.Struct({
  resource: Schema.optional(Schema.Never),
  vm_uuid: nullish(Schema.String),
  name: nullish(Schema.String),
  status: Schema.String,
  vcpu: nullish(Schema.Int),
  memory: nullish(Schema.Number),
  disk_size: nullish(Schema.Number),
  teepod_name: nullish(Schema.String),
  region_identifier: nullish(Schema.String),
  kms_type: nullish(Schema.String),
  instance_type: nullish(Schema.String),
  base_image: nullish(Schema.String),
  machine_info: nullish(MachineInfo)
}).annotations({ identifier: "CvmBasicInfo" })
export type CvmBasicInfo = typeof CvmBasicInfo.Type

/** A CVM in the `2026-01-21` shape: `resource.memory_in_gb` is a (possibly fractional) number of GB. */
export const CvmInfo = Schema.Struct({
  resource: Schema.Struct({
    instance_type: nullish(Schema.String),
    vcpu: nullish(Schema.Int),
    memory_in_gb: nullish(Schema.Number),
    disk_in_gb: nullish(Schema.Number)
  }).annotations({ identifier: "CvmResource" }),
  vm_uuid: nullish(Schema.String),
  name: Schema.String,
  status: Schema.String,
  node_info: nullish(
    Schema.Struct({ name: nullish(Schema.String), region: nullish(Schema.String) }).annotations({ identifier: "NodeRef" })
  ),
  os: nullish(Schema.Struct({ name: nullish(Schema.String) }).annotations({ identifier: "CvmOs" })),
  kms_type: nullish(Schema.String),
  compose_hash: nullish(Schema.String)
}).annotations({ identifier: "CvmInfo" })
export type CvmInfo = typeof CvmInfo.Type

/**
 * Either CVM shape, recognised by content (a `resource` key means CVMInfo) rather than by the version we asked
 * for, since a server may ignore X-Phala-Version. A plain union validated once: a CVMInfo fails the legacy member at
 * its first key (`resource`), so each CVM is read through in full only by the shape it is.
 */
export const Cvm = Schema.Union(CvmBasicInfo, CvmInfo).annotations({ identifier: "Cvm" })
export type Cvm = typeof Cvm.Type

/**
 * `DstackAppFullResponse` of both versions and `DstackAppMinimalResponse`: the wrappers differ only in the CVM
 * shape and in which keys may be null, so one schema with nullable keys reads all three.
 */
export const AppResponse = Schema.Struct({
  app_id: Schema.String,
  name: nullish(Schema.String),
  kms_type: nullish(Schema.String),
  current_cvm: nullish(Cvm),
  cvms: nullish(Schema.Array(Cvm)),
  cvm_count: nullish(Schema.NonNegativeInt)
}).annotations({ identifier: "AppResponse" })
export type AppResponse = typeof AppResponse.Type

const isCvmInfo = (cvm: Cvm): cvm is CvmInfo => cvm.resource !== undefined

const cvmToDomain = (cvm: Cvm, appKmsType: string | null): ObservedCvm => {
  const vmUuid = cvm.vm_uuid ?? null
  // `name` defaults to "" in the legacy shape; the vm_uuid then names the CVM in plans, alerts and labels
  const name = cvm.name || vmUuid || ""
  // the CVM inherits the app's KMS when it does not state its own
  const kmsType = cvm.kms_type ?? appKmsType
  if (isCvmInfo(cvm)) {
    const gb = cvm.resource.memory_in_gb
    return {
      vmUuid,
      name,
      status: cvm.status,
      instanceType: cvm.resource.instance_type ?? null,
      vcpu: cvm.resource.vcpu ?? null,
      memoryMb: gb === null || gb === undefined ? null : Math.round(gb * 1024),
      diskGb: cvm.resource.disk_in_gb ?? null,
      region: cvm.node_info?.region ?? null,
      baseImage: cvm.os?.name ?? null,
      kmsType,
      node: cvm.node_info?.name ?? null,
      composeHash: cvm.compose_hash ?? null
    }
  }
  const machine = cvm.machine_info
  return {
    vmUuid,
    name,
    status: cvm.status,
    instanceType: cvm.instance_type ?? null,
    vcpu: cvm.vcpu ?? machine?.vcpu ?? null,
    memoryMb: cvm.memory ?? machine?.memory ?? null,
    diskGb: cvm.disk_size ?? machine?.disk_size ?? null,
    region: cvm.region_identifier ?? null,
    baseImage: cvm.base_image ?? null,
    kmsType,
    node: cvm.teepod_name ?? null,
    composeHash: null
  }
}

/** What is wrong with a 2xx body: `bad_response` (not the API's answer) or `incomplete` (the minimal shape). */
export interface BodyProblem {
  readonly reason: "bad_response" | "incomplete"
  readonly message: string
}

// ids are compared as the config normalises them: 40 lower-case hex, without the `app_` prefix
const sameAppId = (asked: AppId, answered: string): boolean =>
  Either.getOrElse(normaliseAppId(answered), () => answered) === asked

const shownLength = 64

/**
 * Converts a decoded body to the domain; `appId` is the id that was asked for. A body about another app is not
 * this app's state, and one that says nothing of its CVMs (`cvms`, `cvm_count`, `current_cvm` all null or absent)
 * cannot tell drift from an outage: neither is read as an observation.
 */
export const toObservedApp = (appId: AppId, response: AppResponse): Either.Either<ObservedApp, BodyProblem> => {
  if (!sameAppId(appId, response.app_id)) {
    const other = response.app_id.slice(0, shownLength)
    return Either.left({ reason: "bad_response", message: `body is about another app (app_id ${JSON.stringify(other)})` })
  }
  const current = response.current_cvm ?? null
  const count = response.cvm_count ?? null
  if ((response.cvms ?? null) === null && count === null && current === null) {
    return Either.left({
      reason: "incomplete",
      message: "the API did not say how many CVMs run (cvms, cvm_count and current_cvm are all absent)"
    })
  }
  const wireCvms = response.cvms ?? (current === null ? [] : [current])
  const replicas = response.cvms ? response.cvms.length : count ?? 1
  const appKmsType = response.kms_type ?? null
  return Either.right({
    appId,
    name: response.name ?? null,
    replicas,
    cvms: wireCvms.map((cvm) => cvmToDomain(cvm, appKmsType))
  })
}

const decodeJson = Schema.decodeUnknownEither(Schema.parseJson())
const decodeAppSchema = Schema.decodeUnknownEither(AppResponse)
// the hand-written check first: the schema reads only what it refuses, and says why
const decodeApp = (json: unknown): Either.Either<AppResponse, ParseResult.ParseError> =>
  isAppResponse(json) ? Either.right(json) : decodeAppSchema(json)

/** One line naming the first schema problem, e.g. `cvms: Expected ReadonlyArray<Cvm>, actual "oops"`. */
export const summarizeParseError = (error: ParseResult.ParseError): string => {
  // a CVM that fits neither shape fails both; the deeper problem is the one inside the shape it was meant to be
  const first = ParseResult.ArrayFormatter.formatErrorSync(error).reduce<ParseResult.ArrayFormatterIssue | undefined>(
    (best, issue) => (best === undefined || issue.path.length > best.path.length ? issue : best),
    undefined
  )
  if (first === undefined) return "does not match the expected schema"
  return `${first.path.length === 0 ? "body" : first.path.join(".")}: ${first.message}`
}

/** Decodes a 2xx body as the API's app answer; `Left` says what is wrong with it. */
export const decodeAppBody = (body: string): Either.Either<AppResponse, BodyProblem> => {
  const bad = (message: string): BodyProblem => ({ reason: "bad_response", message })
  if (!nestsAtMost(body)) return Either.left(bad(`JSON nested deeper than ${maxJsonDepth} levels`))
  return decodeJson(body).pipe(
    Either.mapLeft(() => bad("invalid JSON")),
    Either.flatMap((json) =>
      decodeApp(json).pipe(Either.mapLeft((error) => bad(`unexpected body: ${summarizeParseError(error)}`)))
    )
  )
}

const decodeAppList = Schema.decodeUnknownEither(Schema.parseJson(Schema.Struct({ dstack_apps: Schema.Array(Schema.Unknown) })))

/** A page of `GET /apps` (reference §2.5), as far as the base URL probe needs to recognise one. */
export const isAppListBody = (body: string): boolean => Either.isRight(decodeAppList(body))

/** Parses a 2xx body about `appId`. */
export const parseAppBody = (appId: AppId, body: string): Either.Either<ObservedApp, BodyProblem> =>
  Either.flatMap(decodeAppBody(body), (response) => toObservedApp(appId, response))

// == `GET /apps?page=P&page_size=S` (reference §2.5)

/** One app of a list page. `app` is null when the entry has no `cvms` array: only a read of the app itself can say. */
export interface ListEntry {
  readonly appId: AppId
  readonly name: string | null
  readonly app: ObservedApp | null
}

export interface ListPage {
  readonly page: number
  readonly pageSize: number
  /** Apps in the workspace when the page was read. */
  readonly total: number
  readonly totalPages: number
  readonly entries: ReadonlyArray<ListEntry>
  /** Entries that could not be read (wrong types, an id that is not one); their apps are read one by one. */
  readonly rejected: number
}

const ListBody = Schema.Struct({
  dstack_apps: Schema.Array(Schema.Unknown),
  page: Schema.Int,
  page_size: Schema.Int,
  total: Schema.NonNegativeInt,
  total_pages: Schema.NonNegativeInt
}).annotations({ identifier: "AppList" })

const decodeListBody = Schema.decodeUnknownEither(ListBody)

const listEntry = (raw: unknown): ListEntry | null => {
  const decoded = decodeApp(raw)
  if (Either.isLeft(decoded)) return null
  const entry = decoded.right
  const appId = normaliseAppId(entry.app_id)
  if (Either.isLeft(appId)) return null
  const name = entry.name ?? null
  // a list entry counts only with its `cvms` array: a count without the CVMs cannot be diffed
  if ((entry.cvms ?? null) === null) return { appId: appId.right, name, app: null }
  return { appId: appId.right, name, app: Either.getOrNull(toObservedApp(appId.right, entry)) }
}

/** Decodes a 2xx body as a list page; entries are decoded one by one, so one bad entry costs only itself. */
export const decodeListPage = (body: string): Either.Either<ListPage, BodyProblem> => {
  const bad = (message: string): BodyProblem => ({ reason: "bad_response", message })
  if (!nestsAtMost(body)) return Either.left(bad(`JSON nested deeper than ${maxJsonDepth} levels`))
  return decodeJson(body).pipe(
    Either.mapLeft(() => bad("invalid JSON")),
    Either.flatMap((json) =>
      decodeListBody(json).pipe(Either.mapLeft((error) => bad(`unexpected list page: ${summarizeParseError(error)}`)))
    ),
    Either.map((list) => {
      const entries: Array<ListEntry> = []
      let rejected = 0
      for (const raw of list.dstack_apps) {
        const entry = listEntry(raw)
        if (entry === null) rejected++
        else entries.push(entry)
      }
      return {
        page: list.page,
        pageSize: list.page_size,
        total: list.total,
        totalPages: list.total_pages,
        entries,
        rejected
      }
    })
  )
}
