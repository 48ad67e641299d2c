import { Options } from "@effect/cli"
import { Option } from "effect"
import { parseShard, type Shard } from "../Core/Domain/Shard.js"

export const shardOptions = {
  shard: Options.integer("shard").pipe(Options.withDescription("this process's shard, 0-based (with --total-shards)"), Options.optional),
  totalShards: Options.integer("total-shards").pipe(
    Options.withDescription("number of shards; apps are split by a stable hash of app_id"),
    Options.optional
  )
}

export const shardFrom = (flags: { readonly shard: Option.Option<number>; readonly totalShards: Option.Option<number> }): Shard | null | string =>
  parseShard(Option.getOrNull(flags.shard), Option.getOrNull(flags.totalShards))
