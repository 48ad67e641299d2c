import { Effect } from "effect"
import type { AppId } from "../Core/Domain/AppId.js"
import { ListPageFailure } from "../Core/Domain/Observation.js"
import type { ListEntry, ListPage } from "./AppResponse.js"
import { PhalaClient, type PhalaClientService } from "./PhalaClient.js"

/** The largest page the API serves (reference §2.5). */
export const sweepPageSize = 100
/** Pages beyond this are not read: a hostile `total_pages` must not become a flood of requests (100,000 apps). */
export const maxSweepPages = 1000

/** What one sweep of `GET /apps` saw. */
export interface WorkspaceSweep {
  /** Every app seen, once: an app that pages shifting showed twice is kept as first read. */
  readonly apps: ReadonlyMap<AppId, ListEntry>
  /** Workspace size as page 1 reported it; null when page 1 could not be read. */
  readonly total: number | null
  /** Requests the sweep needed, retries not counted: one per page asked for. */
  readonly pagesRead: number
  readonly failures: ReadonlyArray<ListPageFailure>
  /** Every page was read (an app can still have slipped between pages that shifted: declared apps are confirmed). */
  readonly complete: boolean
}

export interface SweepOptions {
  readonly deadline?: number | undefined
  /** Pages in flight at once; the client's own semaphore bounds requests in flight across everything. */
  readonly concurrency: number
}

/** Pages merged in reading order; duplicates across shifted pages count once. */
export const mergePages = (pages: ReadonlyArray<ListPage>): ReadonlyMap<AppId, ListEntry> => {
  const apps = new Map<AppId, ListEntry>()
  for (const page of pages) {
    for (const entry of page.entries) if (!apps.has(entry.appId)) apps.set(entry.appId, entry)
  }
  return apps
}

/** Pages after the first that page 1 announces, capped at `maxSweepPages`. */
export const laterPages = (first: ListPage): ReadonlyArray<number> =>
  Array.from({ length: Math.max(0, Math.min(first.totalPages, maxSweepPages) - 1) }, (_, i) => i + 2)

const tooManyPages = (first: ListPage): ReadonlyArray<ListPageFailure> =>
  first.totalPages > maxSweepPages
    ? [
      new ListPageFailure({
        page: maxSweepPages + 1,
        reason: "bad_response",
        status: null,
        message: `the listing announced ${first.totalPages} pages; only the first ${maxSweepPages} are read`
      })
    ]
    : []

/**
 * Reads the whole workspace: page 1, then the pages it announces in parallel (the client's bound holds). A page that
 * fails after retries is reported, not fatal: whoever needs the apps it held reads them one by one.
 */
export const sweepWith = (client: PhalaClientService, options: SweepOptions): Effect.Effect<WorkspaceSweep> =>
  Effect.gen(function*() {
    const read = (page: number) => client.listPage(page, sweepPageSize, { deadline: options.deadline }).pipe(Effect.either)
    const first = yield* read(1)
    if (first._tag === "Left") return { apps: new Map(), total: null, pagesRead: 1, failures: [first.left], complete: false }
    const pages = laterPages(first.right)
    const rest = yield* Effect.forEach(pages, read, { concurrency: Math.max(1, options.concurrency) })
    const failures = [...rest.flatMap((r) => (r._tag === "Left" ? [r.left] : [])), ...tooManyPages(first.right)]
    const seen = [first.right, ...rest.flatMap((r) => (r._tag === "Right" ? [r.right] : []))]
    return {
      apps: mergePages(seen),
      total: first.right.total,
      pagesRead: 1 + pages.length,
      failures,
      complete: failures.length === 0
    }
  })

/** The whole workspace through the configured client (`import`, discovery). */
export const sweepWorkspace = (options: SweepOptions): Effect.Effect<WorkspaceSweep, never, PhalaClient> =>
  Effect.flatMap(PhalaClient, (client) => sweepWith(client, options))
