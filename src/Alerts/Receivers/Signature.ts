import { Redacted } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"

export const timestampHeader = "X-Phala-Drift-Timestamp"
export const signatureHeader = "X-Phala-Drift-Signature"
export const eventIdHeader = "X-Phala-Drift-Event-Id"

const secretValue = (secret: string | Redacted.Redacted<string>): string =>
  typeof secret === "string" ? secret : Redacted.value(secret)

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`; the timestamp binds the signature against replays. */
export const sign = (secret: string | Redacted.Redacted<string>, timestamp: number, body: string): string =>
  `sha256=${createHmac("sha256", secretValue(secret)).update(`${timestamp}.${body}`).digest("hex")}`

export interface VerifyInput {
  readonly secret: string | Redacted.Redacted<string>
  /** The raw request body, exactly as received. */
  readonly body: string
  /** Value of `X-Phala-Drift-Timestamp`. */
  readonly timestamp: string
  /** Value of `X-Phala-Drift-Signature`. */
  readonly signature: string
  /** Reject timestamps further than this from `nowSeconds` (replay protection); omit to skip the check. */
  readonly toleranceSeconds?: number
  readonly nowSeconds?: number
}

/** What a receiver runs to check a notification came from this daemon, in constant time. */
export const verifySignature = (input: VerifyInput): boolean => {
  if (!/^\d+$/.test(input.timestamp)) return false
  const timestamp = Number(input.timestamp)
  if (input.toleranceSeconds !== undefined) {
    const now = input.nowSeconds ?? Math.floor(Date.now() / 1000)
    if (Math.abs(now - timestamp) > input.toleranceSeconds) return false
  }
  const expected = Buffer.from(sign(input.secret, timestamp, input.body))
  const actual = Buffer.from(input.signature)
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}
