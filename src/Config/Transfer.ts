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

// plain loops: a 10,000-app config is ~400,000 values, and Object.entries/fromEntries per object cost ~0.3 s each way
const mapFields = (value: object, each: (field: unknown) => unknown): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const field = each(Reflect.get(value, key))
    // an own "__proto__" key (a label may be called that) stays a key; assigning it would set the prototype
    if (key === "__proto__") Object.defineProperty(out, key, { value: field, enumerable: true, writable: true, configurable: true })
    else out[key] = field
  }
  return out
}

const mapItems = (items: ReadonlyArray<unknown>, each: (item: unknown) => unknown): Array<unknown> => {
  const out = new Array<unknown>(items.length)
  for (let i = 0; i < items.length; i++) out[i] = each(items[i])
  return out
}

export const toWire = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) {
    if (typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") {
      throw new TypeError(`cannot send a ${typeof value} from the config loader`)
    }
    return value
  }
  if (value instanceof Date) return value
  if (Array.isArray(value)) return mapItems(value, toWire)
  if (Redacted.isRedacted(value)) return { [redactedTag]: toWire(Redacted.value(value)) }
  if (Duration.isDuration(value)) return { [durationTag]: Duration.toMillis(value) }
  if (!isPlainObject(value)) throw new TypeError(`cannot send a ${value.constructor.name} from the config loader`)
  return mapFields(value, toWire)
}

const tagged = (value: object, tag: string): boolean => {
  const keys = Object.keys(value)
  return keys.length === 1 && keys[0] === tag
}

export const fromWire = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null || value instanceof Date) return value
  if (Array.isArray(value)) return mapItems(value, fromWire)
  if (tagged(value, redactedTag)) return Redacted.make(fromWire(Reflect.get(value, redactedTag)))
  if (tagged(value, durationTag)) {
    const millis: unknown = Reflect.get(value, durationTag)
    return typeof millis === "number" ? Duration.millis(millis) : value
  }
  return mapFields(value, fromWire)
}
