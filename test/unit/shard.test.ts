import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { inShard, parseShard, shardOf } from "../../src/Core/Domain/Shard.js"
import { desiredApp } from "../support/builders.js"

const hex40 = fc.stringMatching(/^[0-9a-f]{40}$/)

describe("sharding", () => {
  it("splits any fleet into disjoint shards whose union is the fleet (sharded = unsharded)", () => {
    fc.assert(fc.property(fc.uniqueArray(hex40, { maxLength: 60 }), fc.integer({ min: 1, max: 7 }), (ids, total) => {
      const apps = ids.map((appId) => desiredApp({ appId }))
      const shards = Array.from({ length: total }, (_, index) => apps.filter(inShard({ index, total })).map((a) => a.appId))
      expect(shards.flat().sort()).toEqual([...ids].sort())
      expect(new Set(shards.flat()).size).toBe(ids.length)
    }))
  })

  it("is stable: the same id lands in the same shard every time", () => {
    expect(shardOf("2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4", 4)).toBe(shardOf("2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4", 4))
    expect(shardOf("2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4", 1)).toBe(0)
  })

  it("spreads ids roughly evenly", () => {
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 4000; i++) counts[shardOf(i.toString(16).padStart(40, "0"), 4)]! += 1
    for (const c of counts) expect(c).toBeGreaterThan(850)
  })

  it.each([
    [null, null, null],
    [0, 2, { index: 0, total: 2 }],
    [1, null, "--shard and --total-shards go together"],
    [2, 2, "--shard must be between 0 and 1, got 2"],
    [0, 0, "--total-shards must be a positive integer, got 0"]
  ] as const)("parseShard(%s, %s)", (index, total, expected) => {
    expect(parseShard(index, total)).toEqual(expected)
  })
})
