import { resolveConfigPath } from "../Config/Load.js"
import { parseShard, type Shard } from "../Core/Domain/Shard.js"
import { integerOf, type Invocation, textOf } from "./Args.js"

/** `--config`, else `PHALA_DRIFT_CONFIG`, else config/desired.yaml. */
export const configPathOf = (invocation: Invocation): string => resolveConfigPath(textOf(invocation, "config"), process.env)

/** `--shard i --total-shards n`: null without them, a message when they do not make a shard. */
export const shardOf = (invocation: Invocation): Shard | null | string =>
  parseShard(integerOf(invocation, "shard") ?? null, integerOf(invocation, "total-shards") ?? null)
