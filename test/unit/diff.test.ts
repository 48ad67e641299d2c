import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { attributeKeys, type CvmAttributes } from "../../src/Core/Domain/App.js"
import { healthOf, knownStatuses } from "../../src/Core/Domain/CvmStatus.js"
import { FetchFailure, Observation } from "../../src/Core/Domain/Observation.js"
import type { ObservedCvm } from "../../src/Core/Domain/Observation.js"
import { diffApp } from "../../src/Core/Diff.js"
import { APP_ID, cvm, desiredApp, observedApp, twoReplicas } from "../support/builders.js"

describe("healthOf", () => {
  it.each([
    ["running", "running", "healthy"],
    ["RUNNING", "running", "healthy"],
    [" Running ", "running", "healthy"],
    ["starting", "running", "progressing"],
    ["restarting", "running", "progressing"],
    ["provisioning", "running", "progressing"],
    ["creating", "running", "progressing"],
    ["stopped", "running", "degraded"],
    ["exited", "running", "degraded"],
    ["error", "running", "degraded"],
    ["stopping", "running", "degraded"],
    ["stopped", "stopped", "healthy"],
    ["stopping", "stopped", "progressing"],
    ["shutting_down", "stopped", "progressing"],
    ["starting", "stopped", "degraded"],
    ["running", "stopped", "degraded"],
    ["hibernating", "running", "unknown"],
    ["", "stopped", "unknown"]
  ] as const)("%s against desired %s is %s", (status, desired, health) => {
    expect(healthOf(status, desired)).toBe(health)
  })
})

describe("diffApp", () => {
  it("an app matching its desired state is in sync", () => {
    const report = diffApp(desiredApp(), Observation.found(observedApp(twoReplicas())))
    expect(report.sync).toBe("in_sync")
    expect(report.drifts).toEqual([])
    expect(report.error).toBeNull()
    expect(report.observed).toEqual({ replicas: 2, statuses: { running: 2 } })
    expect(report.cvms.map((c) => c.health)).toEqual(["healthy", "healthy"])
  })

  it("a 404 is missing_app drift, not unknown", () => {
    const report = diffApp(desiredApp(), Observation.notFound)
    expect(report.sync).toBe("out_of_sync")
    expect(report.observed).toBeNull()
    expect(report.drifts).toEqual([{ kind: "missing_app", desired: "present", actual: "absent" }])
  })

  it("a failed fetch is unknown with its reason and never drift", () => {
    const failure = new FetchFailure({ appId: APP_ID, reason: "rate_limited", status: 429, message: "Rate limit exceeded" })
    const report = diffApp(desiredApp(), Observation.failed(failure))
    expect(report.sync).toBe("unknown")
    expect(report.drifts).toEqual([])
    expect(report.observed).toBeNull()
    expect(report.error).toEqual({ reason: "rate_limited", status: 429, message: "Rate limit exceeded" })
  })

  it("uses the config name, then the API name, then the id", () => {
    expect(diffApp(desiredApp({ name: "mine" }), Observation.found(observedApp(twoReplicas()))).name).toBe("mine")
    expect(diffApp(desiredApp({ name: null }), Observation.found(observedApp(twoReplicas(), { name: "api" }))).name).toBe("api")
    expect(diffApp(desiredApp({ name: null }), Observation.found(observedApp(twoReplicas(), { name: null }))).name).toBe(APP_ID)
    expect(diffApp(desiredApp({ name: null }), Observation.notFound).name).toBe(APP_ID)
  })

  it("a stopped replica of a running app is status drift with degraded health", () => {
    const cvms = [cvm(), cvm({ vmUuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51", name: "replica-1", status: "stopped" })]
    const report = diffApp(desiredApp(), Observation.found(observedApp(cvms)))
    expect(report.sync).toBe("out_of_sync")
    expect(report.drifts).toEqual([{
      kind: "status",
      vmUuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51",
      cvmName: "replica-1",
      desired: "running",
      actual: "stopped",
      health: "degraded"
    }])
    expect(report.observed?.statuses).toEqual({ running: 1, stopped: 1 })
  })

  it("compares statuses case-insensitively and reports them lower-cased", () => {
    const report = diffApp(desiredApp({ replicas: { min: 1, max: 1 } }), Observation.found(observedApp([cvm({ status: "Running" })])))
    expect(report.sync).toBe("in_sync")
    expect(report.cvms[0]?.status).toBe("running")
  })

  it("a transitional status is drift with progressing health", () => {
    const report = diffApp(desiredApp({ replicas: { min: 1, max: 1 } }), Observation.found(observedApp([cvm({ status: "starting" })])))
    expect(report.drifts).toMatchObject([{ kind: "status", health: "progressing", actual: "starting" }])
  })

  it("an unheard-of status is drift with unknown health", () => {
    const report = diffApp(desiredApp({ replicas: { min: 1, max: 1 } }), Observation.found(observedApp([cvm({ status: "Frozen" })])))
    expect(report.drifts).toMatchObject([{ kind: "status", health: "unknown", actual: "frozen" }])
  })

  it("desired stopped: running CVMs drift, stopped ones do not", () => {
    const desired = desiredApp({ status: "stopped" })
    const cvms = [cvm({ status: "stopped" }), cvm({ vmUuid: "b", name: "b", status: "running" })]
    const report = diffApp(desired, Observation.found(observedApp(cvms)))
    expect(report.drifts).toMatchObject([{ kind: "status", vmUuid: "b", desired: "stopped", actual: "running" }])
  })

  it.each([
    [{ min: 2, max: 2 }, 1, true],
    [{ min: 2, max: 2 }, 3, true],
    [{ min: 2, max: 2 }, 2, false],
    [{ min: 2, max: 4 }, 4, false],
    [{ min: 2, max: 4 }, 5, true],
    [{ min: 2, max: 4 }, 1, true],
    [{ min: 1, max: null }, 40, false],
    [{ min: 1, max: null }, 0, true],
    [{ min: 0, max: 0 }, 0, false]
  ] as const)("replicas %o with %i observed: drift %s", (replicas, count, drifts) => {
    const cvms = Array.from({ length: count }, (_, i) => cvm({ vmUuid: `uuid-${i}`, name: `cvm-${i}` }))
    const report = diffApp(desiredApp({ replicas }), Observation.found(observedApp(cvms)))
    const replicaDrift = report.drifts.filter((d) => d.kind === "replicas")
    expect(replicaDrift).toEqual(drifts ? [{ kind: "replicas", desired: replicas, actual: count }] : [])
  })

  it("counts replicas from the observation even when fewer CVM objects were sent", () => {
    const report = diffApp(desiredApp(), Observation.found(observedApp([], { replicas: 3 })))
    expect(report.drifts).toEqual([{ kind: "replicas", desired: { min: 2, max: 2 }, actual: 3 }])
    expect(report.observed).toEqual({ replicas: 3, statuses: {} })
  })

  it("reports each attribute that differs, per CVM, with the cvm: key as field", () => {
    const wanted: CvmAttributes = {
      instance_type: "tdx.large",
      vcpu: 4,
      memory_mb: 8192,
      disk_gb: 40,
      region: "eu-west-1",
      base_image: "dstack-0.5.5",
      kms_type: "phala",
      node: "prod6"
    }
    const cvms = [cvm({ instanceType: "tdx.medium" }), cvm({ vmUuid: "b", name: "b", node: null })]
    const report = diffApp(desiredApp({ cvm: wanted }), Observation.found(observedApp(cvms)))
    expect(report.drifts).toEqual([
      { kind: "attribute", vmUuid: "b", cvmName: "b", field: "disk_gb", desired: 40, actual: 20 },
      { kind: "attribute", vmUuid: "b", cvmName: "b", field: "node", desired: "prod6", actual: null },
      {
        kind: "attribute",
        vmUuid: "c48d9363-21b2-4f4a-87d9-3496623f020d",
        cvmName: "payments-api",
        field: "instance_type",
        desired: "tdx.large",
        actual: "tdx.medium"
      },
      {
        kind: "attribute",
        vmUuid: "c48d9363-21b2-4f4a-87d9-3496623f020d",
        cvmName: "payments-api",
        field: "disk_gb",
        desired: 40,
        actual: 20
      }
    ])
  })

  it("compares compose_hash only when the API reported one (the 2026-01-21 shape), ignoring letter case", () => {
    const hash = "ab".repeat(32)
    const other = "cd".repeat(32)
    const desired = desiredApp({ cvm: { compose_hash: hash }, replicas: { min: 3, max: 3 } })
    const report = diffApp(desired, Observation.found(observedApp([
      cvm({ vmUuid: "a", name: "a", composeHash: hash.toUpperCase() }),
      cvm({ vmUuid: "b", name: "b", composeHash: other }),
      cvm({ vmUuid: "c", name: "c", composeHash: null })
    ])))
    expect(report.drifts).toEqual([
      { kind: "attribute", vmUuid: "b", cvmName: "b", field: "compose_hash", desired: hash, actual: other }
    ])
  })

  it("ignores attributes the config does not declare", () => {
    const report = diffApp(desiredApp({ cvm: { region: "EU-WEST-1" } }), Observation.found(observedApp([
      cvm({ instanceType: "anything" }),
      cvm({ vmUuid: "b", name: "b", vcpu: 64 })
    ])))
    expect(report.sync).toBe("in_sync")
  })
})

// ---- property tests ----

const statusArb = fc.constantFrom(...knownStatuses, "Running", "STOPPED", "weird-state")
const cvmArb: fc.Arbitrary<ObservedCvm> = fc.record({
  vmUuid: fc.option(fc.uuid(), { nil: null }),
  name: fc.string({ maxLength: 12 }),
  status: statusArb,
  instanceType: fc.option(fc.constantFrom("tdx.small", "tdx.medium", "tdx.large"), { nil: null }),
  vcpu: fc.option(fc.integer({ min: 1, max: 64 }), { nil: null }),
  memoryMb: fc.option(fc.integer({ min: 512, max: 65536 }), { nil: null }),
  diskGb: fc.option(fc.integer({ min: 10, max: 500 }), { nil: null }),
  region: fc.option(fc.constantFrom("US-WEST-1", "EU-WEST-1"), { nil: null }),
  baseImage: fc.option(fc.constantFrom("dstack-0.5.5", "dstack-dev-0.5.4.1"), { nil: null }),
  kmsType: fc.option(fc.constantFrom("phala", "ethereum"), { nil: null }),
  node: fc.option(fc.constantFrom("prod5", "prod6", "prod7"), { nil: null }),
  composeHash: fc.option(fc.constantFrom("a".repeat(64), "b".repeat(64)), { nil: null })
})

const attributesArb: fc.Arbitrary<CvmAttributes> = fc.record({
  instance_type: fc.constantFrom("tdx.small", "tdx.medium", "tdx.large"),
  vcpu: fc.integer({ min: 1, max: 64 }),
  memory_mb: fc.integer({ min: 512, max: 65536 }),
  disk_gb: fc.integer({ min: 10, max: 500 }),
  region: fc.constantFrom("US-WEST-1", "EU-WEST-1"),
  base_image: fc.constantFrom("dstack-0.5.5", "dstack-dev-0.5.4.1"),
  kms_type: fc.constantFrom("phala", "ethereum"),
  node: fc.constantFrom("prod5", "prod6", "prod7"),
  compose_hash: fc.constantFrom("a".repeat(64), "B".repeat(64))
}, { requiredKeys: [] })

/** A CVM that has every declared attribute and the desired status. */
const conforming = (attrs: CvmAttributes, status: "running" | "stopped", i: number): ObservedCvm =>
  cvm({
    vmUuid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    name: `cvm-${i}`,
    status,
    instanceType: attrs.instance_type ?? null,
    vcpu: attrs.vcpu ?? null,
    memoryMb: attrs.memory_mb ?? null,
    diskGb: attrs.disk_gb ?? null,
    region: attrs.region ?? null,
    baseImage: attrs.base_image ?? null,
    kmsType: attrs.kms_type ?? null,
    node: attrs.node ?? null,
    composeHash: attrs.compose_hash?.toLowerCase() ?? null
  })

describe("diffApp properties", () => {
  it("an observation built from the desired state is always in sync", () => {
    fc.assert(fc.property(
      attributesArb,
      fc.constantFrom("running" as const, "stopped" as const),
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 0, max: 4 }),
      (attrs, status, min, extra) => {
        const count = min + Math.floor(extra / 2)
        const desired = desiredApp({ cvm: attrs, status, replicas: { min, max: min + extra } })
        const cvms = Array.from({ length: count }, (_, i) => conforming(attrs, status, i))
        const report = diffApp(desired, Observation.found(observedApp(cvms)))
        expect(report.drifts).toEqual([])
        expect(report.sync).toBe("in_sync")
      }
    ))
  })

  it("the report never depends on the order of CVMs", () => {
    fc.assert(fc.property(
      fc.array(cvmArb, { maxLength: 8 }),
      attributesArb,
      fc.integer({ min: 0, max: 10 }),
      (cvms, attrs, seed) => {
        const desired = desiredApp({ cvm: attrs })
        const shuffled = [...cvms].sort((a, b) => ((cvms.indexOf(a) * 7919 + seed) % 13) - ((cvms.indexOf(b) * 7919 + seed) % 13))
        const a = diffApp(desired, Observation.found(observedApp(cvms)))
        const b = diffApp(desired, Observation.found(observedApp([...shuffled].reverse())))
        expect(b).toEqual(a)
      }
    ))
  })

  it("sync is out_of_sync exactly when there is drift, and drift counts match unhealthy CVMs and mismatches", () => {
    fc.assert(fc.property(fc.array(cvmArb, { maxLength: 8 }), attributesArb, (cvms, attrs) => {
      const report = diffApp(desiredApp({ cvm: attrs, replicas: { min: 0, max: null } }), Observation.found(observedApp(cvms)))
      expect(report.sync).toBe(report.drifts.length > 0 ? "out_of_sync" : "in_sync")
      const unhealthy = report.cvms.filter((c) => c.health !== "healthy").length
      expect(report.drifts.filter((d) => d.kind === "status").length).toBe(unhealthy)
      const declared = attributeKeys.filter((k) => attrs[k] !== undefined).length
      expect(report.drifts.filter((d) => d.kind === "attribute").length).toBeLessThanOrEqual(declared * cvms.length)
    }))
  })
})

describe("carryNames", () => {
  it("keeps the API's name for an app that turned unknown or missing, unless the config names it", async () => {
    const { carryNames } = await import("../../src/Cloud/Observe.js")
    const unnamed = desiredApp({ name: null })
    const before = { generatedAt: new Date(0), apps: [diffApp(unnamed, Observation.found(observedApp(twoReplicas(), { name: "from-api" })))] }
    const failure = new FetchFailure({ appId: APP_ID, reason: "timeout", status: null, message: "t" })
    expect(carryNames(before, [diffApp(unnamed, Observation.failed(failure))])[0]?.name).toBe("from-api")
    expect(carryNames(before, [diffApp(unnamed, Observation.notFound)])[0]?.name).toBe("from-api")
    expect(carryNames(undefined, [diffApp(unnamed, Observation.notFound)])[0]?.name).toBe(APP_ID)
    const renamed = diffApp(unnamed, Observation.found(observedApp(twoReplicas(), { name: "renamed" })))
    expect(carryNames(before, [renamed])[0]?.name).toBe("renamed")
    expect(carryNames(before, [diffApp(desiredApp({ name: "cfg" }), Observation.failed(failure))])[0]?.name).toBe("cfg")
  })
})
