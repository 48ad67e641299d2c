import { FetchHttpClient, Headers, HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { formatBytes, framedWithin, readBounded } from "../../src/Cloud/BoundedBody.js"
import { edgeText, makeRedactor } from "../../src/Cloud/EdgeText.js"
import { nestsAtMost } from "../../src/Cloud/JsonDepth.js"
import { classifyNotFound } from "../../src/Cloud/NotFound.js"
import { isRedirect, redirectMessage } from "../../src/Cloud/RedirectPolicy.js"
import { startHostileApi } from "../support/hostile-api.js"

const complete = (text: string) => ({ _tag: "Complete", text }) as const

describe("readBounded over loopback (real fetch, real gzip)", () => {
  const KEY = "phak_unit_bounded_0a1b2c3d"
  const BOMB = "b0b0000000000000000000000000000000000001"
  const ENDLESS = "b0b0000000000000000000000000000000000002"
  const SMALL = "b0b0000000000000000000000000000000000003"

  const read = (url: string, limit: number) =>
    Effect.flatMap(HttpClient.HttpClient, (client) =>
      client.get(url, { headers: { "x-api-key": KEY } }).pipe(Effect.flatMap((response) => readBounded(response, limit))))

  it.live("stops a gzip bomb and an endless body at the limit, and reads a small body whole", () =>
    Effect.acquireUseRelease(
      Effect.promise(() =>
        startHostileApi({
          apiKey: KEY,
          apps: {
            [BOMB]: { kind: "gzip_bomb", inflatedGiB: 1 },
            [ENDLESS]: { kind: "endless_body" },
            [SMALL]: { kind: "ok", name: "small" }
          }
        })
      ),
      (api) =>
        Effect.gen(function*() {
          const before = process.memoryUsage().rss
          expect(yield* read(`${api.apiUrl}/apps/${BOMB}`, 1024 * 1024)).toStrictEqual({ _tag: "TooLarge", limit: 1024 * 1024 })
          expect(yield* read(`${api.apiUrl}/apps/${ENDLESS}`, 1024 * 1024)).toStrictEqual({ _tag: "TooLarge", limit: 1024 * 1024 })
          // a gigabyte inflated, or an endless body, would show here; the bound allows a few chunks of slack
          expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024)
          const small = yield* read(`${api.apiUrl}/apps/${SMALL}`, 1024 * 1024)
          expect(small._tag === "Complete" && JSON.parse(small.text)).toMatchObject({ app_id: SMALL, name: "small" })
          // the endless body was abandoned: the server saw its client go away
          yield* Effect.promise(async () => {
            for (let i = 0; i < 100 && api.abortedBodies() < 1; i++) await new Promise((r) => setTimeout(r, 50))
          })
          expect(api.abortedBodies()).toBeGreaterThanOrEqual(1)
        }),
      (api) => Effect.promise(() => api.close())
    ).pipe(Effect.provide(FetchHttpClient.layer)), 60_000)
})

describe("framedWithin", () => {
  const headers = (entries: Record<string, string>) => Headers.fromInput(entries)

  it("trusts a Content-Length within the limit on a body sent as is, and nothing else", () => {
    expect(framedWithin(headers({ "content-length": "1024" }), 1024)).toBe(true)
    expect(framedWithin(headers({ "content-length": "1025" }), 1024)).toBe(false)
    expect(framedWithin(headers({ "content-length": "100", "content-encoding": "gzip" }), 1024)).toBe(false)
    expect(framedWithin(headers({ "transfer-encoding": "chunked" }), 1024)).toBe(false)
    expect(framedWithin(headers({ "content-length": "-1" }), 1024)).toBe(false)
    expect(framedWithin(headers({ "content-length": "1e3" }), 1024)).toBe(false)
    expect(framedWithin(headers({ "content-length": "9".repeat(400) }), 1024)).toBe(false)
  })
})

describe("formatBytes", () => {
  it("names limits as an operator wrote them", () => {
    expect([8 * 1024 * 1024, 256 * 1024, 100_000, 1536 * 1024].map(formatBytes)).toStrictEqual([
      "8 MiB",
      "256 KiB",
      "100000 bytes",
      "1536 KiB"
    ])
  })
})

describe("EdgeText", () => {
  const key = "phak_Live.Key+(1)[x]"
  const redact = makeRedactor(Redacted.make(key))

  it("redacts the key in any letter case, with regex characters in it taken literally", () => {
    expect(redact(`a ${key} b ${key.toUpperCase()} c ${key.toLowerCase()}`)).toBe("a <redacted> b <redacted> c <redacted>")
    expect(redact("phak_LiveXKey+(1)[x]")).toBe("phak_LiveXKey+(1)[x]")
  })

  it("leaves text alone for a key too short to redact safely", () => {
    expect(makeRedactor(Redacted.make("abc"))("abc def")).toBe("abc def")
  })

  it("redacts before cutting, so no part of the key survives at the cut", () => {
    const text = `${"x".repeat(250)}${key.toUpperCase()}`
    const clean = edgeText(redact)(text)
    expect(clean.length).toBe(256)
    expect(clean.toLowerCase()).not.toContain("phak_")
  })
})

describe("nestsAtMost", () => {
  it("counts arrays and objects, not brackets inside strings", () => {
    expect(nestsAtMost("[[[]]]", 3)).toBe(true)
    expect(nestsAtMost("[[[[]]]]", 3)).toBe(false)
    expect(nestsAtMost(`{"a":{"b":[1]}}`, 3)).toBe(true)
    expect(nestsAtMost(`{"a":"[[[[[[\\"[[[["}`, 1)).toBe(true)
    expect(nestsAtMost("[".repeat(1_000_000), 64)).toBe(false)
  })
})

describe("RedirectPolicy", () => {
  const from = "https://cloud-api.phala.com/api/v1/apps/abc"

  it("treats 3xx but 304 as redirects", () => {
    expect([300, 301, 302, 303, 304, 307, 308, 200, 404].map(isRedirect)).toStrictEqual([
      true, true, true, true, false, true, true, false, false
    ])
  })

  it("names the other origin only, or the path on the same origin", () => {
    expect(redirectMessage(301, from, "https://evil.test/steal?key=1")).toContain("another origin (https://evil.test)")
    expect(redirectMessage(301, from, "http://cloud-api.phala.com/api/v1/apps/abc")).toContain("another origin (http://cloud-api.phala.com)")
    expect(redirectMessage(308, from, "/api/v1/apps/abc/")).toBe(
      "HTTP 308: redirect to /api/v1/apps/abc/ not followed; set api.url to the address the API answers on"
    )
    expect(redirectMessage(302, from, "http://[broken")).toBe("HTTP 302: redirect without a usable Location, not followed")
    expect(redirectMessage(301, from, `https://${"a".repeat(500)}.test/`).length).toBeLessThan(220)
  })
})

describe("classifyNotFound", () => {
  it("takes the API's JSON errors about a resource as about the app", () => {
    expect(classifyNotFound(complete("{\"detail\":\"App not found\"}"), "application/json")).toStrictEqual({ _tag: "AboutApp", text: "App not found" })
    expect(classifyNotFound(complete("{\"detail\":{\"message\":\"gone\",\"code\":\"X\"}}"), null)).toMatchObject({ _tag: "AboutApp" })
    expect(classifyNotFound(complete("{\"error_code\":\"ERR-03-001\",\"message\":\"The requested CVM was not found\"}"), null))
      .toStrictEqual({ _tag: "AboutApp", text: "The requested CVM was not found (ERR-03-001)" })
  })

  it("takes route-level, gateway, HTML, empty, oversized and validation bodies as not the API's answer", () => {
    const notTheApi = [
      complete("{\"detail\":\"Not Found\"}"),
      complete("{\"message\":\"Not Found\"}"),
      complete("<!DOCTYPE html><title>404</title>"),
      complete("   "),
      complete("{\"detail\":[{\"loc\":[\"path\",\"app_id\"],\"msg\":\"bad\",\"type\":\"x\"}]}"),
      complete("[1, 2]"),
      complete("Not Found"),
      { _tag: "TooLarge", limit: 65536 } as const
    ]
    expect(notTheApi.map((body) => classifyNotFound(body, null)._tag)).toStrictEqual(Array(notTheApi.length).fill("NotTheApi"))
  })
})
