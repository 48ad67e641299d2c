import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { readFileSync } from "node:fs"
import { type BodyProblem, parseAppBody } from "../../src/Cloud/AppResponse.js"
import type { ObservedApp, ObservedCvm } from "../../src/Core/Domain/Observation.js"

const appId = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/api/${name}`, import.meta.url), "utf8")

// fixtures are trusted test data: reading them as records lets each test change one field
const fixtureJson = (name: string): Record<string, unknown> => JSON.parse(fixture(name))

const decoded = (body: string | object): ObservedApp => {
  const result = parseAppBody(appId, typeof body === "string" ? body : JSON.stringify(body))
  if (Either.isLeft(result)) throw new Error(`expected a decoded app, got: ${result.left}`)
  return result.right
}

const failure = (body: string | object): BodyProblem => {
  const result = parseAppBody(appId, typeof body === "string" ? body : JSON.stringify(body))
  if (Either.isRight(result)) throw new Error("expected a decode failure")
  return result.left
}

/** The message of a `bad_response` problem. */
const problem = (body: string | object): string => {
  const found = failure(body)
  expect(found.reason).toBe("bad_response")
  return found.message
}

const primary: ObservedCvm = {
  vmUuid: "c48d9363-21b2-4f4a-87d9-3496623f020d",
  name: "payments-api",
  status: "running",
  instanceType: "tdx.large",
  vcpu: 4,
  memoryMb: 8192,
  diskGb: 20,
  region: "EU-WEST-1",
  baseImage: "dstack-0.5.5",
  kmsType: "phala",
  node: "prod6",
  composeHash: null
}

const replica: ObservedCvm = {
  vmUuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51",
  name: "payments-api-replica-1",
  status: "stopped",
  instanceType: "tdx.medium",
  vcpu: 2,
  memoryMb: 4096,
  diskGb: 40,
  region: "US-WEST-1",
  baseImage: "dstack-0.5.4",
  kmsType: "phala",
  node: "prod7",
  composeHash: null
}

const expectedApp: ObservedApp = { appId, name: "payments-api", replicas: 2, cvms: [primary, replica] }

/** A 2025-10-28 CVM with every attribute null, to test one field at a time. */
const legacyCvm = (fields: Record<string, unknown>) => ({ vm_uuid: null, name: "", status: "running", ...fields })

describe("AppResponse shapes", () => {
  it("decodes the 2025-10-28 CvmBasicInfo shape (memory MB, disk GB, teepod_name, region_identifier)", () => {
    expect(decoded(fixture("app-2025-10-28.json"))).toStrictEqual(expectedApp)
  })

  it("decodes the 2026-01-21 CVMInfo shape to the same domain values", () => {
    expect(decoded(fixture("app-2026-01-21.json"))).toStrictEqual(expectedApp)
  })

  it("reads the minimal shape as incomplete: the API did not say how many CVMs run (never 0 replicas)", () => {
    const incomplete = failure(fixture("app-minimal.json"))
    expect(incomplete.reason).toBe("incomplete")
    expect(incomplete.message).toContain("did not say how many CVMs run")
    expect(failure({ app_id: appId }).reason).toBe("incomplete")
    expect(failure({ app_id: appId, name: "payments-api", cvms: null, cvm_count: null, current_cvm: null }).reason)
      .toBe("incomplete")
  })

  it("ignores unknown fields at every level and keeps the status as sent", () => {
    const app = decoded(fixture("app-extra-fields.json"))
    expect(app.replicas).toBe(1)
    expect(app.cvms).toStrictEqual([{ ...primary, status: "Running" }])
  })

  it("recognises each CVM by its content, whatever the wrapper looks like", () => {
    const cvmInfo = (fixtureJson("app-2026-01-21.json")["cvms"] as Array<unknown>)[1]
    const legacy = (fixtureJson("app-2025-10-28.json")["cvms"] as Array<unknown>)[0]
    const app = decoded({ ...fixtureJson("app-2025-10-28.json"), cvms: [legacy, cvmInfo] })
    expect(app.cvms).toStrictEqual([primary, replica])
  })
})

describe("AppResponse units and fallbacks", () => {
  it("converts memory_in_gb to MB, rounding fractions", () => {
    const withMemory = (gb: number | null) => {
      const body = fixtureJson("app-2026-01-21.json")
      const [first] = body["cvms"] as Array<{ resource: Record<string, unknown> }>
      first!.resource["memory_in_gb"] = gb
      return decoded(body).cvms[0]!.memoryMb
    }
    expect(withMemory(0.5)).toBe(512)
    expect(withMemory(1.9999)).toBe(2048)
    expect(withMemory(16)).toBe(16384)
    expect(withMemory(null)).toBeNull()
  })

  it("falls back to machine_info when the top-level vcpu, memory or disk_size is null", () => {
    const machine_info = { vcpu: 8, memory: 16384, disk_size: 80, gpu_count: 0 }
    const fallback = decoded({ app_id: appId, cvms: [legacyCvm({ vcpu: null, memory: null, disk_size: null, machine_info })] })
    expect(fallback.cvms[0]).toMatchObject({ vcpu: 8, memoryMb: 16384, diskGb: 80 })
    const topLevelWins = decoded({ app_id: appId, cvms: [legacyCvm({ vcpu: 4, memory: 8192, disk_size: 20, machine_info })] })
    expect(topLevelWins.cvms[0]).toMatchObject({ vcpu: 4, memoryMb: 8192, diskGb: 20 })
    const neither = decoded({ app_id: appId, cvms: [legacyCvm({ vcpu: null, memory: null, disk_size: null, machine_info: null })] })
    expect(neither.cvms[0]).toMatchObject({ vcpu: null, memoryMb: null, diskGb: null })
  })

  it("names a CVM without a name by its vm_uuid, else the empty string", () => {
    const uuid = "0d3ab9a3-6e7c-4b0e-9a57-3c1f1d0e4a11"
    expect(decoded({ app_id: appId, cvms: [legacyCvm({ vm_uuid: uuid })] }).cvms[0]?.name).toBe(uuid)
    expect(decoded({ app_id: appId, cvms: [{ status: "running", vm_uuid: uuid }] }).cvms[0]?.name).toBe(uuid)
    expect(decoded({ app_id: appId, cvms: [{ status: "running" }] }).cvms[0]).toMatchObject({ name: "", vmUuid: null })
  })

  it("reads compose_hash from the 2026-01-21 shape only; a legacy CVM never has one", () => {
    const hash = "9f".repeat(32)
    const body = fixtureJson("app-2026-01-21.json")
    const [first] = body["cvms"] as Array<Record<string, unknown>>
    first!["compose_hash"] = hash
    expect(decoded(body).cvms.map((cvm) => cvm.composeHash)).toStrictEqual([hash, null])
    expect(decoded({ app_id: appId, cvms: [legacyCvm({ compose_hash: hash })] }).cvms[0]?.composeHash).toBeNull()
    first!["compose_hash"] = 42
    expect(failure(body).reason).toBe("bad_response")
  })

  it("takes the app's kms_type for a CVM that does not state one", () => {
    const app = decoded({ app_id: appId, kms_type: "ethereum", cvms: [legacyCvm({ kms_type: null }), legacyCvm({ kms_type: "base" })] })
    expect(app.cvms.map((cvm) => cvm.kmsType)).toStrictEqual(["ethereum", "base"])
  })
})

describe("AppResponse replica count", () => {
  const current = (fixtureJson("app-2025-10-28.json")["current_cvm"])

  it("counts the cvms list, whatever cvm_count says", () => {
    expect(decoded({ ...fixtureJson("app-2025-10-28.json"), cvm_count: 5 }).replicas).toBe(2)
    expect(decoded({ app_id: appId, cvms: [], cvm_count: 3, current_cvm: current }).replicas).toBe(0)
  })

  it("uses cvm_count when cvms is null or absent, and lists current_cvm", () => {
    const nullCvms = decoded({ app_id: appId, cvms: null, cvm_count: 3, current_cvm: current })
    expect(nullCvms.replicas).toBe(3)
    expect(nullCvms.cvms).toStrictEqual([primary])
    expect(decoded({ app_id: appId, cvm_count: 0 }).replicas).toBe(0)
  })

  it("counts current_cvm as one replica when neither cvms nor cvm_count is given", () => {
    const app = decoded({ app_id: appId, current_cvm: current, cvm_count: null })
    expect(app.replicas).toBe(1)
    expect(app.cvms).toStrictEqual([primary])
  })

  it("counts zero only when the API says so", () => {
    expect(decoded({ app_id: appId, cvms: [], cvm_count: null, current_cvm: null }).replicas).toBe(0)
    expect(decoded({ app_id: appId, cvm_count: 0 }).replicas).toBe(0)
  })
})

describe("AppResponse rejects bodies with wrong types", () => {
  it("rejects a cvms string, naming the field", () => {
    expect(problem(fixture("app-cvms-oops.json"))).toMatch(/^unexpected body: cvms: Expected .*, actual "oops"$/)
  })

  it("rejects a numeric status, a string memory, a negative cvm_count and a missing app_id", () => {
    expect(problem({ app_id: appId, cvms: [legacyCvm({ status: 5 })] })).toBe(
      "unexpected body: cvms.0.status: Expected string, actual 5"
    )
    expect(problem({ app_id: appId, cvms: [legacyCvm({}), legacyCvm({ memory: "8GB" })] })).toContain("cvms.1.memory:")
    expect(problem({ app_id: appId, current_cvm: legacyCvm({ teepod_name: 11 }) })).toContain("current_cvm.teepod_name:")
    expect(problem({ app_id: appId, cvm_count: -1 })).toContain("cvm_count")
    expect(problem({ name: "payments-api" })).toContain("app_id")
    expect(problem([])).toMatch(/^unexpected body: /)
  })

  it("does not read a CVMInfo with a broken resource as a legacy CVM", () => {
    expect(problem({ app_id: appId, cvms: [{ name: "x", status: "running", resource: "oops" }] })).toContain(
      "cvms.0.resource:"
    )
    expect(problem({ app_id: appId, current_cvm: { name: "x", status: "running", resource: null } })).toContain(
      "current_cvm.resource:"
    )
    expect(problem({ app_id: appId, cvms: [{ name: "x", status: "running", resource: { memory_in_gb: "8" } }] }))
      .toContain("cvms.0.resource.memory_in_gb:")
  })

  it("reports invalid JSON as such", () => {
    expect(problem("{\"app_id\": ")).toBe("invalid JSON")
    expect(problem("<html>Bad Gateway</html>")).toBe("invalid JSON")
  })

  it("rejects another app's body, whatever its shape", () => {
    const other = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
    expect(problem({ ...fixtureJson("app-2025-10-28.json"), app_id: other })).toBe(`body is about another app (app_id "${other}")`)
    expect(problem({ app_id: other }).startsWith("body is about another app")).toBe(true)
    expect(problem({ app_id: "x".repeat(10_000), cvms: [] }).length).toBeLessThan(120)
  })

  it("accepts the requested app id in another case or with the app_ prefix", () => {
    expect(decoded({ app_id: `app_${appId.toUpperCase()}`, cvms: [] }).appId).toBe(appId)
  })

  it("keeps the summary short", () => {
    expect(problem({ app_id: 1, name: 2, cvms: 3, cvm_count: "x" }).length).toBeLessThan(400)
  })
})
