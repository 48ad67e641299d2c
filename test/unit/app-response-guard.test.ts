import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import { readFileSync } from "node:fs"
import { AppResponse, toObservedApp } from "../../src/Cloud/AppResponse.js"
import { isAppResponse } from "../../src/Cloud/AppResponseGuard.js"

const appId = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const decodeWithSchema = Schema.decodeUnknownEither(AppResponse)
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/api/${name}`, import.meta.url), "utf8"))

// values of every JSON kind, the right ones and the near misses (a float where an int goes, a negative count)
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -3, max: 64 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -2, max: 9000 }),
  fc.constant(2 ** 53),
  fc.boolean(),
  fc.constant([]),
  fc.constant({})
)

/** An object with some of `fields`, each the right kind of value or any other, and maybe a key nobody reads. */
const shaped = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> =>
  fc.tuple(
    fc.record(Object.fromEntries(Object.entries(fields).map(([k, right]) => [k, fc.oneof({ weight: 4, arbitrary: right }, { weight: 1, arbitrary: anyValue })])), { requiredKeys: [] }),
    fc.option(fc.dictionary(fc.constantFrom("extra", "compose_file", "__proto__", "constructor"), anyValue), { nil: undefined }),
    fc.boolean()
  ).map(([known, extra, asArray]) => {
    const value = { ...extra, ...known }
    return asArray && Object.keys(value).length === 0 ? [] : value
  })

const str = fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null))
const int = fc.oneof(fc.integer({ min: 0, max: 128 }), fc.constant(null))
const num = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: 0, max: 65536 }), fc.constant(null))

const legacyCvm = shaped({
  vm_uuid: str, name: str, status: fc.constantFrom("running", "stopped"), vcpu: int, memory: num, disk_size: num,
  teepod_name: str, region_identifier: str, kms_type: str, instance_type: str, base_image: str,
  machine_info: fc.oneof(fc.constant(null), shaped({ vcpu: int, memory: num, disk_size: num }))
})
const currentCvm = shaped({
  resource: shaped({ instance_type: str, vcpu: int, memory_in_gb: num, disk_in_gb: num }),
  vm_uuid: str, name: fc.string({ maxLength: 8 }), status: fc.constantFrom("running", "stopped"),
  node_info: fc.oneof(fc.constant(null), shaped({ name: str, region: str })),
  os: fc.oneof(fc.constant(null), shaped({ name: str })), kms_type: str, compose_hash: str
})
const cvm = fc.oneof(legacyCvm, currentCvm)
const body = shaped({
  app_id: fc.constantFrom(appId, `app_${appId}`, "0".repeat(40)),
  name: str,
  kms_type: str,
  current_cvm: fc.oneof(fc.constant(null), cvm),
  cvms: fc.oneof(fc.constant(null), fc.array(cvm, { maxLength: 3 })),
  cvm_count: fc.oneof(fc.constant(null), fc.integer({ min: -1, max: 5 }))
})

describe("isAppResponse, the schema's hand-written twin", () => {
  it("accepts only bodies the schema decodes, and they read as the same app", () => {
    let accepted = 0
    fc.assert(
      fc.property(body, (raw) => {
        const decoded = decodeWithSchema(raw)
        if (!isAppResponse(raw)) return
        accepted++
        expect(Either.isRight(decoded)).toBe(true)
        if (Either.isRight(decoded)) expect(toObservedApp(appId, raw)).toEqual(toObservedApp(appId, decoded.right))
      }),
      { numRuns: 3000 }
    )
    // the generator reaches both sides: the fast path is taken, and refusals are left to the schema
    expect(accepted).toBeGreaterThan(300)
    expect(accepted).toBeLessThan(2700)
  })

  it("accepts the API's answers of both versions, so they never take the slow path", () => {
    for (const name of ["app-2025-10-28.json", "app-2026-01-21.json", "app-minimal.json", "app-extra-fields.json"]) {
      expect(isAppResponse(fixture(name)), name).toBe(true)
    }
    expect(isAppResponse(fixture("app-cvms-oops.json"))).toBe(false)
  })

  it("refuses what the schema refuses, field by field", () => {
    const base = { app_id: appId, cvms: [{ status: "running", vcpu: 2 }] }
    expect(isAppResponse(base)).toBe(true)
    for (const bad of [
      { ...base, app_id: 7 },
      { ...base, cvm_count: -1 },
      { ...base, cvm_count: 1.5 },
      { ...base, cvms: [{ status: "running", vcpu: 2.5 }] },
      { ...base, cvms: [{ status: 1 }] },
      { ...base, cvms: [{ resource: null, status: "running", name: "x" }] },
      { ...base, cvms: [{ resource: {}, status: "running" }] },
      { ...base, cvms: {} },
      { ...base, current_cvm: "x" },
      { ...base, cvms: [{ status: "running", machine_info: { memory: "8G" } }] }
    ]) {
      expect(isAppResponse(bad), JSON.stringify(bad)).toBe(false)
      expect(Either.isLeft(decodeWithSchema(bad)), JSON.stringify(bad)).toBe(true)
    }
  })
})
