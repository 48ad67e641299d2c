import { Either } from "effect"
import type { DiscoverySettings } from "./Domain/App.js"
import { type AppId, normaliseAppId } from "./Domain/AppId.js"
import { normalizeStatus } from "./Domain/CvmStatus.js"
import type { ObservedApp } from "./Domain/Observation.js"
import type { UnmanagedApp } from "./Domain/Report.js"
import { type Shard, shardOf } from "./Domain/Shard.js"

/** An app as the workspace listing showed it; `app` is null when the entry did not carry its CVMs. */
export interface ListedApp {
  readonly appId: AppId
  readonly name: string | null
  readonly app: ObservedApp | null
}

const globToRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&"))).join("")}$`)

/** `discovery.ignore`: an entry that is an app id matches that app; any other is a glob over the name and the id. */
export const ignoreMatcher = (ignore: ReadonlyArray<string>): (appId: AppId, name: string | null) => boolean => {
  const ids = new Set<string>()
  const globs: Array<RegExp> = []
  for (const entry of ignore) {
    const id = normaliseAppId(entry)
    if (Either.isRight(id)) ids.add(id.right)
    else globs.push(globToRegExp(entry))
  }
  return (appId, name) => ids.has(appId) || globs.some((glob) => glob.test(appId) || (name !== null && glob.test(name)))
}

const statusCounts = (app: ObservedApp | null): Readonly<Record<string, number>> => {
  const counts: Record<string, number> = {}
  for (const cvm of app?.cvms ?? []) {
    const status = normalizeStatus(cvm.status)
    counts[status] = (counts[status] ?? 0) + 1
  }
  return counts
}

/**
 * The apps of a sweep that are neither declared nor ignored, sorted by name then id; with a shard, only those whose
 * hash falls to it, so shards split them without overlap.
 */
export const unmanagedApps = (
  listed: Iterable<ListedApp>,
  declared: ReadonlySet<AppId>,
  settings: DiscoverySettings,
  shard: Shard | null
): ReadonlyArray<UnmanagedApp> => {
  const ignored = ignoreMatcher(settings.ignore)
  const found: Array<UnmanagedApp> = []
  for (const entry of listed) {
    if (declared.has(entry.appId) || ignored(entry.appId, entry.name)) continue
    if (shard !== null && shardOf(entry.appId, shard.total) !== shard.index) continue
    found.push({
      appId: entry.appId,
      name: entry.name ?? entry.app?.name ?? entry.appId,
      replicas: entry.app?.replicas ?? null,
      statuses: statusCounts(entry.app)
    })
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.appId < b.appId ? -1 : 1))
}
