/**
 * Text from the API is cleaned where it enters the program, so that metrics, logs, alerts, the outbox, the plan and
 * the page never see more than a label's worth of it, and never the API key (echoed in any letter case).
 */
import { Redacted } from "effect"
import type { ObservedApp, ObservedCvm } from "../Core/Domain/Observation.js"
import { type Masker, secretMasker } from "../Core/Secrets.js"

/** Longest name or label value taken from the API (app and CVM names, statuses, attributes, vm_uuid). */
export const maxFieldLength = 256

export const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`

/** Replaces the secret, in any letter case, with `<redacted>`. */
export type Redactor = Masker

export const makeRedactor = (secret: Redacted.Redacted<string>): Redactor => secretMasker([Redacted.value(secret)])

/** Redacts first, so a cut never leaves part of the key behind. */
export const edgeText = (redact: Redactor) => (text: string): string => truncate(redact(text), maxFieldLength)

const orNull = (clean: (text: string) => string, text: string | null): string | null =>
  text === null ? null : clean(text)

/** The app with every string it carries cleaned; numbers and counts pass as they are. */
export const sanitizeObservedApp = (app: ObservedApp, redact: Redactor): ObservedApp => {
  const clean = edgeText(redact)
  const cvm = (c: ObservedCvm): ObservedCvm => ({
    vmUuid: orNull(clean, c.vmUuid),
    name: clean(c.name),
    status: clean(c.status),
    instanceType: orNull(clean, c.instanceType),
    vcpu: c.vcpu,
    memoryMb: c.memoryMb,
    diskGb: c.diskGb,
    region: orNull(clean, c.region),
    baseImage: orNull(clean, c.baseImage),
    kmsType: orNull(clean, c.kmsType),
    node: orNull(clean, c.node),
    composeHash: orNull(clean, c.composeHash)
  })
  return { appId: app.appId, name: orNull(clean, app.name), replicas: app.replicas, cvms: app.cvms.map(cvm) }
}
