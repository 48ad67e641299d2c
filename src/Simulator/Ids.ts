/** Deterministic, realistic-looking identifiers: the same seed and key always give the same id. */

export interface Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number
}

// FNV-1a over the key, so ids of one entity do not shift when another entity is added to the scenario
const hashKey = (seed: number, key: string): number => {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

// mulberry32: tiny, fast, good enough for ids (not for cryptography)
export const rngFor = (seed: number, key: string): Rng => {
  let state = hashKey(seed, key)
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (n) => Math.floor(next() * n) }
}

const hexDigits = "0123456789abcdef"
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

export const hex = (rng: Rng, length: number): string => {
  let out = ""
  for (let i = 0; i < length; i++) out += hexDigits[rng.int(16)]
  return out
}

/** RFC 4122 version 4 layout (version nibble 4, variant 8..b), lower case with dashes. */
export const uuidV4 = (rng: Rng): string => {
  const variant = hexDigits[8 + rng.int(4)] ?? "8"
  return `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-${variant}${hex(rng, 3)}-${hex(rng, 12)}`
}

/** Phala-style hashid such as `prj_A6eez86X`. */
export const hashid = (rng: Rng, prefix: string, length = 8): string => {
  let out = `${prefix}_`
  for (let i = 0; i < length; i++) out += base62[rng.int(62)]
  return out
}

export const appId = (seed: number, key: string): string => hex(rngFor(seed, `app_id:${key}`), 40)
export const projectId = (seed: number, key: string): string => hashid(rngFor(seed, `prj:${key}`), "prj")
export const vmUuid = (seed: number, key: string): string => uuidV4(rngFor(seed, `vm_uuid:${key}`))
export const cvmId = (seed: number, key: string): string => hashid(rngFor(seed, `cvm:${key}`), "cvm")
export const kmsId = (seed: number, key: string): string => hashid(rngFor(seed, `kms:${key}`), "kms")
export const instanceId = (seed: number, key: string): string => hex(rngFor(seed, `instance:${key}`), 40)

/** Python `isoformat()` style with microseconds and offset, as the API sends app `created_at`. */
export const pythonIso = (millis: number, micros: number): string =>
  new Date(millis).toISOString().replace(/\.(\d{3})Z$/, (_, ms: string) => `.${ms}${String(micros % 1000).padStart(3, "0")}+00:00`)

/** A creation time in 2025 that is stable for a key. */
export const createdAt = (seed: number, key: string): string => {
  const rng = rngFor(seed, `created:${key}`)
  const start = Date.UTC(2025, 0, 1)
  const span = 330 * 24 * 3600 * 1000
  return pythonIso(start + rng.int(span), rng.int(1000))
}
