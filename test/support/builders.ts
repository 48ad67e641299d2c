import { Duration } from "effect"
import type { DesiredApp } from "../../src/Core/Domain/App.js"
import type { ObservedApp, ObservedCvm } from "../../src/Core/Domain/Observation.js"

export const APP_ID = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"

export const desiredApp = (overrides: Partial<DesiredApp> = {}): DesiredApp => ({
  appId: APP_ID,
  name: "payments-api",
  labels: {},
  replicas: { min: 2, max: 2 },
  status: "running",
  cvm: {},
  severity: "warning",
  for: Duration.minutes(2),
  keepFiringFor: null,
  maintenance: [],
  ...overrides
})

export const cvm = (overrides: Partial<ObservedCvm> = {}): ObservedCvm => ({
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
  composeHash: null,
  ...overrides
})

export const observedApp = (cvms: ReadonlyArray<ObservedCvm>, overrides: Partial<ObservedApp> = {}): ObservedApp => ({
  appId: APP_ID,
  name: "payments-api",
  replicas: cvms.length,
  cvms,
  ...overrides
})

export const twoReplicas = (): ReadonlyArray<ObservedCvm> => [
  cvm(),
  cvm({ vmUuid: "16d247ca-23f5-4ffa-b590-7f732eddbf51", name: "payments-api-replica-1", node: "prod7" })
]
