import { describe, expect, it } from "vitest"
import { minMaskedLength, secretMasker } from "../../src/Core/Secrets.js"

describe("secretMasker", () => {
  it("masks every occurrence in any letter case, with regex characters taken literally", () => {
    const mask = secretMasker(["phak_Live.Key+(1)[x]"])
    expect(mask("a phak_Live.Key+(1)[x] b PHAK_LIVE.KEY+(1)[X] c")).toBe("a <redacted> b <redacted> c")
    expect(mask("phak_LiveXKey+(1)[x]")).toBe("phak_LiveXKey+(1)[x]")
  })

  it("cuts a secret that contains another one whole", () => {
    expect(secretMasker(["abcdef", "xxabcdefyy"])("token xxabcdefyy")).toBe("token <redacted>")
  })

  it("leaves alone what is shorter than the minimum (test doubles, empty values)", () => {
    expect(minMaskedLength).toBe(6)
    expect(secretMasker(["abcde", ""])("abcde fgh")).toBe("abcde fgh")
    expect(secretMasker(["abcdef"])("ABCDEF fgh")).toBe("<redacted> fgh")
  })
})
