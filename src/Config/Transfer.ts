import { Duration, Redacted } from "effect"

/**
 * A loaded config crosses from the loader's worker thread to the daemon by structured clone, which keeps plain
 * data and Dates but not the classes of `Redacted` (its value lives in a registry of the thread that made it) or
 * `Duration`. They travel as tagged records and are rebuilt on arrival. Anything else that is not plain data is
 * refused when sent, so a new kind of field fails loudly in tests instead of arriving broken.
 */

const redactedTag = "~redacted"
const durationTag = "~durationMillis"

const isPlainObject = (u: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

export const toWire = (value: unknown): unknown => {
  if (Redacted.isRedacted(value)) return { [redactedTag]: toWire(Redacted.value(value)) }
  if (Duration.isDuration(value)) return { [durationTag]: Duration.toMillis(value) }
  if (typeof value !== "object" || value === null || value instanceof Date) {
    if (typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") {
      throw new TypeError(`cannot send a ${typeof value} from the config loader`)
    }
    return value
  }
  if (Array.isArray(value)) return value.map(toWire)
  if (!isPlainObject(value)) throw new TypeError(`cannot send a ${value.constructor.name} from the config loader`)
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]))
}

const tagged = (value: object, tag: string): boolean => {
  const keys = Object.keys(value)
  return keys.length === 1 && keys[0] === tag
}

export const fromWire = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null || value instanceof Date) return value
  if (Array.isArray(value)) return value.map(fromWire)
  if (tagged(value, redactedTag)) return Redacted.make(fromWire(Reflect.get(value, redactedTag)))
  if (tagged(value, durationTag)) {
    const millis: unknown = Reflect.get(value, durationTag)
    return typeof millis === "number" ? Duration.millis(millis) : value
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromWire(v)]))
}
