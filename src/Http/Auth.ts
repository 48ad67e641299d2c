import { timingSafeEqual } from "node:crypto"
import { Redacted } from "effect"
import type { ServerAuth } from "../Core/Domain/App.js"

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given, "utf8")
  const b = Buffer.from(expected, "utf8")
  // compare equal-length buffers so the time taken does not reveal a matching prefix
  return a.length === b.length ? timingSafeEqual(a, b) : (timingSafeEqual(b, b), false)
}

/** Whether an `Authorization` header satisfies the configured auth. */
export const authorized = (auth: ServerAuth, header: string | undefined): boolean => {
  if (header === undefined) return false
  const space = header.indexOf(" ")
  if (space < 0) return false
  const scheme = header.slice(0, space).toLowerCase()
  const credentials = header.slice(space + 1).trim()
  switch (auth._tag) {
    case "Bearer":
      return scheme === "bearer" && sameSecret(credentials, Redacted.value(auth.token))
    case "Basic": {
      if (scheme !== "basic") return false
      const decoded = Buffer.from(credentials, "base64").toString("utf8")
      const colon = decoded.indexOf(":")
      if (colon < 0) return false
      const userOk = sameSecret(decoded.slice(0, colon), auth.username)
      const passOk = sameSecret(decoded.slice(colon + 1), Redacted.value(auth.password))
      return userOk && passOk
    }
  }
}

export const challenge = (auth: ServerAuth): string =>
  auth._tag === "Bearer" ? `Bearer realm="phala-drift"` : `Basic realm="phala-drift", charset="UTF-8"`

/**
 * Paths that stay open whatever the auth config: kubelet and Docker probes carry no credentials, so a protected
 * /readyz would keep the pod unready forever. Neither path reveals more than "ok" / "ready".
 */
export const publicPaths: ReadonlySet<string> = new Set(["/healthz", "/readyz"])
