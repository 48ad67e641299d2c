import { createHash } from "node:crypto"
import type { DesiredApp } from "./App.js"

export interface Shard {
  readonly index: number
  readonly total: number
}

/** Stable across processes and versions: the first 8 bytes of sha256(app_id), modulo the shard count. */
export const shardOf = (appId: string, total: number): number =>
  Number(createHash("sha256").update(appId).digest().readBigUInt64BE(0) % BigInt(total))

export const inShard = (shard: Shard) => (app: DesiredApp): boolean => shardOf(app.appId, shard.total) === shard.index

/** `--shard i --total-shards n`: both or neither, 0 <= i < n. */
export const parseShard = (index: number | null, total: number | null): Shard | null | string => {
  if (index === null && total === null) return null
  if (index === null || total === null) return "--shard and --total-shards go together"
  if (!Number.isInteger(total) || total < 1) return `--total-shards must be a positive integer, got ${total}`
  if (!Number.isInteger(index) || index < 0 || index >= total) return `--shard must be between 0 and ${total - 1}, got ${index}`
  return { index, total }
}
