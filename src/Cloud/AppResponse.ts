import { Either, ParseResult, Predicate, Schema } from "effect"
import type { AppId } from "../Domain/App.js"
import type { ObservedApp, ObservedCvm } from "../Domain/Observation.js"

// Wire format of `GET /apps/{app_id}` (reference §2). Only the fields the monitor reads are declared;
// unknown fields are ignored. A field we read with the wrong type fails the decode (→ bad_response).

const nullish = <A, I>(schema: Schema.Schema<A, I>) => Schema.optional(Schema.NullOr(schema))

export const MachineInfo = Schema.Struct({
  vcpu: nullish(Schema.Int),
  memory: nullish(Schema.Number),
  disk_size: nullish(Schema.Number)
}).annotations({ identifier: "MachineInfo" })

/** A CVM in the `2025-10-28` shape: memory in MB, disk in GB. */
export const CvmBasicInfo = Schema.Struct({
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
  kms_type: nullish(Schema.String)
}).annotations({ identifier: "CvmInfo" })
export type CvmInfo = typeof CvmInfo.Type

/**
 * Either CVM shape, recognised by content (a `resource` key means CVMInfo) rather than by the version we asked
 * for, since a server may ignore X-Phala-Version. Routing before decoding keeps a broken CVMInfo from passing as
 * a legacy CVM with every attribute null, and makes errors name the field that is wrong.
 */
export const Cvm = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Union(Schema.typeSchema(CvmInfo), Schema.typeSchema(CvmBasicInfo)),
  {
    strict: true,
    decode: (input, options) =>
      Predicate.hasProperty(input, "resource")
        ? ParseResult.decodeUnknown(CvmInfo)(input, options)
        : ParseResult.decodeUnknown(CvmBasicInfo)(input, options),
    encode: ParseResult.succeed
  }
).annotations({ identifier: "Cvm" })
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

const isCvmInfo = (cvm: Cvm): cvm is CvmInfo => "resource" in cvm

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
      node: cvm.node_info?.name ?? null
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
    node: cvm.teepod_name ?? null
  }
}

/** Converts a decoded body to the domain; `appId` is the id that was asked for. */
export const toObservedApp = (appId: AppId, response: AppResponse): ObservedApp => {
  const current = response.current_cvm ?? null
  const wireCvms = response.cvms ?? (current === null ? [] : [current])
  const replicas = response.cvms
    ? response.cvms.length
    : response.cvm_count ?? (current === null ? 0 : 1)
  const appKmsType = response.kms_type ?? null
  return {
    appId,
    name: response.name ?? null,
    replicas,
    cvms: wireCvms.map((cvm) => cvmToDomain(cvm, appKmsType))
  }
}

const decodeJson = Schema.decodeUnknownEither(Schema.parseJson())
const decodeApp = Schema.decodeUnknownEither(AppResponse)

/** One line naming the first schema problem, e.g. `cvms: Expected ReadonlyArray<Cvm>, actual "oops"`. */
export const summarizeParseError = (error: ParseResult.ParseError): string => {
  const first = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (first === undefined) return "does not match the expected schema"
  return `${first.path.length === 0 ? "body" : first.path.join(".")}: ${first.message}`
}

/** Parses a 200 body. `Left` carries a short description of what is wrong with it. */
export const parseAppBody = (appId: AppId, body: string): Either.Either<ObservedApp, string> =>
  decodeJson(body).pipe(
    Either.mapLeft(() => "invalid JSON"),
    Either.flatMap((json) =>
      decodeApp(json).pipe(Either.mapLeft((error) => `unexpected body: ${summarizeParseError(error)}`))
    ),
    Either.map((response) => toObservedApp(appId, response))
  )
