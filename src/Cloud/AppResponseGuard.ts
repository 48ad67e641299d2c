import type { AppResponse, Cvm } from "./AppResponse.js"

/**
 * A check of a parsed JSON body against `AppResponse` written out by hand: it accepts only values the schema decodes
 * (a subset: a struct given as an array, which the schema lets through, is left to it), and what it accepts reads the
 * same as the decoded value, since every field the monitor reads is checked and the rest is ignored by both.
 * Decoding ~10,000 answers a cycle through the schema cost ~0.1 ms each; an answer this check refuses still goes
 * through the schema, which says what is wrong with it. A property test holds the two together
 * (`test/unit/app-response-guard.test.ts`).
 */

type Check = (u: unknown) => boolean

// parsed JSON has no undefined values and no inherited keys but Object.prototype's, none of which is a field here
const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const isString: Check = (u) => typeof u === "string"
const isNumber: Check = (u) => typeof u === "number"
const isInt: Check = (u) => typeof u === "number" && Number.isSafeInteger(u)

const nullish = (check: Check): Check => (u) => u === undefined || u === null || check(u)
const nullishString = nullish(isString)
const nullishNumber = nullish(isNumber)
const nullishInt = nullish(isInt)
const nullishCount = nullish((u) => typeof u === "number" && Number.isSafeInteger(u) && u >= 0)

const isMachineInfo = nullish((u) =>
  isRecord(u) && nullishInt(u.vcpu) && nullishNumber(u.memory) && nullishNumber(u.disk_size)
)

const isCvmBasicInfo = (u: Readonly<Record<string, unknown>>): boolean =>
  isString(u.status) &&
  nullishString(u.vm_uuid) && nullishString(u.name) && nullishInt(u.vcpu) && nullishNumber(u.memory) &&
  nullishNumber(u.disk_size) && nullishString(u.teepod_name) && nullishString(u.region_identifier) &&
  nullishString(u.kms_type) && nullishString(u.instance_type) && nullishString(u.base_image) &&
  isMachineInfo(u.machine_info)

const isResource = (u: unknown): boolean =>
  isRecord(u) && nullishString(u.instance_type) && nullishInt(u.vcpu) && nullishNumber(u.memory_in_gb) &&
  nullishNumber(u.disk_in_gb)

const isNodeRef = nullish((u) => isRecord(u) && nullishString(u.name) && nullishString(u.region))
const isOs = nullish((u) => isRecord(u) && nullishString(u.name))

const isCvmInfo = (u: Readonly<Record<string, unknown>>): boolean =>
  isResource(u.resource) && isString(u.name) && isString(u.status) && nullishString(u.vm_uuid) &&
  isNodeRef(u.node_info) && isOs(u.os) && nullishString(u.kms_type) && nullishString(u.compose_hash)

const isCvm = (u: unknown): u is Cvm => isRecord(u) && (u.resource === undefined ? isCvmBasicInfo(u) : isCvmInfo(u))

const isCvmList = (u: unknown): boolean => {
  if (!Array.isArray(u)) return false
  for (const cvm of u) if (!isCvm(cvm)) return false
  return true
}

const nullishCvm = nullish(isCvm)
const nullishCvmList = nullish(isCvmList)

export const isAppResponse = (u: unknown): u is AppResponse =>
  isRecord(u) && isString(u.app_id) && nullishString(u.name) && nullishString(u.kms_type) &&
  nullishCvm(u.current_cvm) && nullishCvmList(u.cvms) && nullishCount(u.cvm_count)
