/**
 * The simulated account as immutable data plus pure operations on it. Time is passed in (epoch milliseconds), so
 * the logic is testable without sockets or real clocks; `State.ts` feeds it from Effect's `Clock`.
 */
import { Either } from "effect"
import {
  type ApiVersion,
  defaultBaseImage,
  defaultDiskGb,
  defaultInstanceType,
  defaultNode,
  instanceTypes,
  isTransitional,
  nodes,
  resolvesTo
} from "./Catalog.js"
import * as Ids from "./Ids.js"
import type { AppSpec, CvmAttributes, CvmSpec, FaultsSpec, ListSpec, Scenario, SyntheticSpec, Team, Then } from "./Scenario.js"

// == records

export interface Operation {
  readonly target: string | null
  readonly startedAt: number
  readonly correlationId: string
}

export interface CvmRecord {
  /** Integer database id, exposed as `id` in legacy lifecycle responses. */
  readonly dbId: number
  readonly id: string
  readonly vmUuid: string
  readonly appId: string
  readonly name: string
  /** Free text, exactly as set (the API does not normalise case). */
  readonly status: string
  readonly instanceType: string
  readonly vcpu: number
  readonly memoryMb: number
  readonly diskGb: number
  readonly gpuCount: number
  readonly region: string
  readonly node: string
  readonly teepodId: number
  readonly baseImage: string
  readonly kmsType: string
  readonly kmsSlug: string
  readonly kmsId: string
  readonly instanceId: string | null
  readonly listed: boolean
  /** `compose_hash` of the 2026 shapes: by default one per app (its CVMs run one compose); a scenario or PATCH sets it per CVM. */
  readonly composeHash: string
  readonly createdAt: number
  readonly updatedAt: number
  readonly operation: Operation | null
}

export interface StatusFault {
  readonly status: number
  readonly retryAfter: string | null
}

export interface Faults {
  readonly latencyMs: number | null
  /** Consumed one per request. */
  readonly statuses: ReadonlyArray<StatusFault>
  readonly rateLimit: { readonly remaining: number; readonly retryAfter: string | null } | null
  readonly malformed: boolean
  readonly wrongTypes: boolean
  readonly hang: boolean
  /** Answers of the lifecycle endpoints for this app's CVMs, consumed one per action request. */
  readonly actions: ReadonlyArray<StatusFault>
}

export interface Profile {
  readonly display_name: string | null
  readonly avatar_url: string | null
  readonly description: string | null
  readonly custom_domain: string | null
}

export interface AppRecord {
  readonly appId: string
  readonly id: string
  readonly name: string
  /** Pinned response version; null follows the request header. */
  readonly version: ApiVersion | null
  readonly shape: "full" | "minimal"
  readonly forbidden: boolean
  readonly kmsType: string
  readonly createdAt: string
  readonly team: Team | null
  readonly profile: Profile | null
  readonly cvms: ReadonlyArray<CvmRecord>
  readonly faults: Faults
}

export interface Pending {
  readonly at: number
  readonly seq: number
  readonly appId: string
  readonly vmUuid: string
  readonly status: string
}

export interface TimelineStep {
  /** Offset from the simulator start. */
  readonly at: number
  readonly appId: string
  readonly vmUuid: string | null
  readonly status: string | null
  readonly then: Then | null
  readonly set: CvmAttributes | null
  /** undefined: leave faults alone; null: clear them. */
  readonly faults: FaultsSpec | null | undefined
}

export interface Settings {
  /** Accepted X-API-Key values; null accepts any non-empty key (a scenario without `api_keys`). */
  readonly apiKeys: ReadonlySet<string> | null
  readonly defaultVersion: ApiVersion
  readonly transitionDelayMs: number
  readonly seed: number
  readonly timeline: ReadonlyArray<TimelineStep>
  readonly loopMs: number | null
}

/** Something that happens to the workspace right after a list page is served (pages that shift between reads). */
export interface ListShift {
  readonly afterPage: number
  /** Added first in the listing, so every later page shifts by one. */
  readonly add: AppSpec | null
  readonly remove: string | null
}

/** Faults of `GET /apps`: for every page, and per page number (a page's own faults win while they last). */
export interface ListBehaviour {
  readonly faults: Faults
  readonly pages: ReadonlyMap<number, Faults>
  readonly shifts: ReadonlyArray<ListShift>
}

export interface World {
  readonly settings: Settings
  readonly list: ListBehaviour
  readonly startedAt: number
  /** Insertion-ordered, so listings are stable. */
  readonly apps: ReadonlyMap<string, AppRecord>
  readonly pending: ReadonlyArray<Pending>
  /** Last timeline step applied: (offset, index). */
  readonly cursor: { readonly t: number; readonly index: number }
  /** Counter for generated ids and database ids. */
  readonly serial: number
}

export const noFaults: Faults = {
  latencyMs: null,
  statuses: [],
  rateLimit: null,
  malformed: false,
  wrongTypes: false,
  hang: false,
  actions: []
}

export const noListBehaviour: ListBehaviour = { faults: noFaults, pages: new Map(), shifts: [] }

export const normalizeAppId = (text: string): string => text.replace(/^app_/, "").toLowerCase()

// == construction

export const faultsFrom = (spec: FaultsSpec | undefined): Faults =>
  spec === undefined ? noFaults : {
    latencyMs: spec.latency ?? null,
    statuses: (spec.statuses ?? []).map((s) =>
      typeof s === "number" ? { status: s, retryAfter: null } : { status: s.status, retryAfter: s.retry_after ?? null }
    ),
    rateLimit: spec.rate_limit === undefined
      ? null
      : { remaining: spec.rate_limit.count, retryAfter: spec.rate_limit.retry_after ?? null },
    malformed: spec.malformed ?? false,
    wrongTypes: spec.wrong_types ?? false,
    hang: spec.hang ?? false,
    actions: (spec.actions ?? []).map((s) =>
      typeof s === "number" ? { status: s, retryAfter: null } : { status: s.status, retryAfter: s.retry_after ?? null }
    )
  }

export const listBehaviourFrom = (spec: ListSpec | undefined): ListBehaviour =>
  spec === undefined ? noListBehaviour : {
    faults: faultsFrom(spec.faults),
    pages: new Map((spec.pages ?? []).map((p) => [p.page, faultsFrom(p.faults)])),
    shifts: (spec.shifts ?? []).map((s) => ({
      afterPage: s.after_page,
      add: s.add ?? null,
      remove: s.remove === undefined ? null : normalizeAppId(s.remove)
    }))
  }

interface CvmContext {
  readonly seed: number
  readonly appId: string
  readonly appName: string
  readonly kmsType: string
  readonly key: string
  readonly index: number
  readonly dbId: number
  readonly now: number
}

const buildCvm = (spec: CvmSpec, ctx: CvmContext): CvmRecord => {
  const instanceType = spec.instance_type ?? defaultInstanceType
  const sizes = instanceTypes[instanceType] ?? instanceTypes[defaultInstanceType]
  const node = spec.node ?? defaultNode
  const status = spec.status ?? "running"
  const vmUuid = spec.vm_uuid ?? Ids.vmUuid(ctx.seed, ctx.key)
  return {
    dbId: ctx.dbId,
    id: spec.id ?? Ids.cvmId(ctx.seed, ctx.key),
    vmUuid,
    appId: ctx.appId,
    name: spec.name ?? `${ctx.appName}-${ctx.index}`,
    status,
    instanceType,
    vcpu: spec.vcpu ?? sizes?.vcpu ?? 1,
    memoryMb: spec.memory_mb ?? sizes?.memoryMb ?? 2048,
    diskGb: spec.disk_gb ?? defaultDiskGb,
    gpuCount: spec.gpu_count ?? sizes?.gpus ?? 0,
    region: spec.region ?? nodes[node]?.region ?? "US-WEST-1",
    node,
    teepodId: spec.teepod_id ?? nodes[node]?.id ?? 0,
    baseImage: spec.base_image ?? defaultBaseImage,
    kmsType: spec.kms_type ?? ctx.kmsType,
    kmsSlug: spec.kms_slug ?? `${spec.kms_type ?? ctx.kmsType}-${node}`,
    kmsId: Ids.kmsId(ctx.seed, node),
    instanceId: spec.instance_id === undefined ? Ids.instanceId(ctx.seed, ctx.key) : spec.instance_id,
    listed: spec.listed ?? false,
    composeHash: spec.compose_hash ?? Ids.hex(Ids.rngFor(ctx.seed, `compose:${ctx.appId}`), 64),
    createdAt: ctx.now,
    updatedAt: ctx.now,
    operation: isTransitional(status)
      ? { target: resolvesTo[status.toLowerCase()] ?? null, startedAt: ctx.now, correlationId: Ids.uuidV4(Ids.rngFor(ctx.seed, `op:${ctx.key}`)) }
      : null
  }
}

interface Built {
  readonly app: AppRecord
  readonly pending: ReadonlyArray<Omit<Pending, "seq">>
  readonly serial: number
}

const buildApp = (spec: AppSpec, seed: number, team: Team | null, key: string, serial: number, now: number): Built => {
  const name = spec.name ?? `app-${serial}`
  const appId = spec.app_id === undefined ? Ids.appId(seed, key) : normalizeAppId(spec.app_id)
  const kmsType = spec.kms_type ?? "phala"
  let next = serial
  const pending: Array<Omit<Pending, "seq">> = []
  const cvms = (spec.cvms ?? []).map((cvmSpec, index) => {
    const cvm = buildCvm(cvmSpec, {
      seed,
      appId,
      appName: name,
      kmsType,
      key: `${key}/cvm:${cvmSpec.name ?? index}`,
      index,
      dbId: 10_000 + next++,
      now
    })
    for (const step of cvmSpec.transitions ?? []) {
      pending.push({ at: now + step.after, appId, vmUuid: cvm.vmUuid, status: step.status })
    }
    return cvm
  })
  const app: AppRecord = {
    appId,
    id: spec.id ?? Ids.projectId(seed, key),
    name,
    version: spec.version ?? null,
    shape: spec.shape ?? "full",
    forbidden: spec.forbidden ?? false,
    kmsType,
    createdAt: spec.created_at ?? Ids.createdAt(seed, key),
    team: spec.team === undefined ? team : spec.team,
    profile: spec.profile === undefined || spec.profile === null ? null : {
      display_name: spec.profile.display_name ?? null,
      avatar_url: spec.profile.avatar_url ?? null,
      description: spec.profile.description ?? null,
      custom_domain: spec.profile.custom_domain ?? null
    },
    cvms,
    faults: faultsFrom(spec.faults)
  }
  return { app, pending, serial: next }
}

const syntheticTypes = ["tdx.small", "tdx.medium", "tdx.large"] as const
const syntheticNodes = ["prod5", "prod6", "prod7", "prod8", "prod9"] as const

/** The generated fleet of `synthetic:` as ordinary app specs with every id filled in (benchmarks read them back). */
export const syntheticApps = (spec: SyntheticSpec, defaultSeed = 1): ReadonlyArray<AppSpec> => {
  const seed = spec.seed ?? defaultSeed
  const prefix = spec.name_prefix ?? "bench-app"
  const width = Math.max(4, String(spec.apps).length)
  return Array.from({ length: spec.apps }, (_, i): AppSpec => {
    const key = `synthetic:${i}`
    const name = `${prefix}-${String(i).padStart(width, "0")}`
    return {
      app_id: Ids.appId(seed, key),
      id: Ids.projectId(seed, key),
      name,
      ...(spec.version === undefined ? {} : { version: spec.version }),
      cvms: Array.from({ length: spec.cvms_per_app ?? 1 }, (_, j): CvmSpec => ({
        vm_uuid: Ids.vmUuid(seed, `${key}/${j}`),
        id: Ids.cvmId(seed, `${key}/${j}`),
        name: `${name}-${j}`,
        status: "running",
        instance_type: syntheticTypes[i % syntheticTypes.length] ?? "tdx.small",
        node: syntheticNodes[(i + j) % syntheticNodes.length] ?? "prod5"
      }))
    }
  })
}

const sortPending = (pending: ReadonlyArray<Pending>): ReadonlyArray<Pending> =>
  [...pending].sort((a, b) => a.at - b.at || a.seq - b.seq)

/** Builds the world a scenario describes, at time `now`; fails on duplicate ids or dangling timeline references. */
export const makeWorld = (scenario: Scenario, now: number): Either.Either<World, string> => {
  const seed = scenario.seed ?? 1
  const team = scenario.team === undefined ? { slug: "demo-team", name: "Demo Team" } : scenario.team
  const specs: Array<readonly [AppSpec, string]> = (scenario.apps ?? []).map((a, i) => [a, `app:${a.name ?? i}`])
  if (scenario.synthetic !== undefined) {
    for (const [i, a] of syntheticApps(scenario.synthetic, seed).entries()) specs.push([a, `synthetic:${i}`])
  }
  const apps = new Map<string, AppRecord>()
  const uuids = new Set<string>()
  const pending: Array<Pending> = []
  let serial = 0
  for (const [spec, key] of specs) {
    const built = buildApp(spec, seed, team, key, serial, now)
    serial = built.serial
    if (apps.has(built.app.appId)) return Either.left(`duplicate app_id ${built.app.appId}`)
    for (const cvm of built.app.cvms) {
      if (uuids.has(cvm.vmUuid)) return Either.left(`duplicate vm_uuid ${cvm.vmUuid}`)
      uuids.add(cvm.vmUuid)
    }
    apps.set(built.app.appId, built.app)
    for (const p of built.pending) pending.push({ ...p, seq: serial++ })
  }

  const timeline: Array<TimelineStep> = []
  for (const [i, event] of (scenario.timeline?.events ?? []).entries()) {
    const where = `timeline.events.${i}`
    const app = apps.get(normalizeAppId(event.app)) ?? [...apps.values()].find((a) => a.name === event.app)
    if (app === undefined) return Either.left(`${where}.app: no app with id or name ${JSON.stringify(event.app)}`)
    let vmUuid: string | null = null
    if (event.vm_uuid !== undefined || event.cvm !== undefined) {
      const cvm = app.cvms.find((c) => c.vmUuid === event.vm_uuid || (event.cvm !== undefined && c.name === event.cvm))
      if (cvm === undefined) {
        return Either.left(`${where}: app ${app.name} has no CVM ${event.vm_uuid ?? event.cvm ?? ""}`)
      }
      vmUuid = cvm.vmUuid
    }
    timeline.push({
      at: event.at,
      appId: app.appId,
      vmUuid,
      status: event.status ?? null,
      then: event.then ?? null,
      set: event.set ?? null,
      faults: event.faults
    })
  }

  return Either.right({
    settings: {
      apiKeys: scenario.api_keys === undefined ? null : new Set(scenario.api_keys),
      defaultVersion: scenario.default_version ?? "2025-10-28",
      transitionDelayMs: scenario.transition_delay ?? 5000,
      seed,
      timeline,
      loopMs: scenario.timeline?.loop ?? null
    },
    list: listBehaviourFrom(scenario.list),
    startedAt: now,
    apps,
    pending: sortPending(pending),
    cursor: { t: -1, index: -1 },
    serial
  })
}

// == updates

const withApp = (world: World, app: AppRecord): World => {
  const apps = new Map(world.apps)
  apps.set(app.appId, app)
  return { ...world, apps }
}

const updateCvm = (world: World, appId: string, vmUuid: string, f: (cvm: CvmRecord) => CvmRecord): World => {
  const app = world.apps.get(appId)
  if (app === undefined || !app.cvms.some((c) => c.vmUuid === vmUuid)) return world
  return withApp(world, { ...app, cvms: app.cvms.map((c) => (c.vmUuid === vmUuid ? f(c) : c)) })
}

const schedule = (world: World, entry: Omit<Pending, "seq">): World => ({
  ...world,
  pending: sortPending([...world.pending, { ...entry, seq: world.serial }]),
  serial: world.serial + 1
})

const cancelPending = (world: World, vmUuid: string): World =>
  world.pending.some((p) => p.vmUuid === vmUuid)
    ? { ...world, pending: world.pending.filter((p) => p.vmUuid !== vmUuid) }
    : world

interface StatusChange {
  readonly then: Then | null
  /** A transitional status without `then` resolves to its steady status after the transition delay. */
  readonly autoResolve: boolean
  /** An explicit change overrides what was scheduled for that CVM. */
  readonly override: boolean
}

const changeStatus = (world: World, appId: string, vmUuid: string, status: string, at: number, how: StatusChange): World => {
  const natural = resolvesTo[status.trim().toLowerCase()]
  const target = how.then?.status ?? (isTransitional(status) ? natural ?? null : null)
  const operation: Operation | null = isTransitional(status)
    ? { target, startedAt: at, correlationId: Ids.uuidV4(Ids.rngFor(world.settings.seed, `op:${world.serial}`)) }
    : null
  let next = how.override ? cancelPending(world, vmUuid) : world
  next = updateCvm({ ...next, serial: next.serial + 1 }, appId, vmUuid, (cvm) => ({ ...cvm, status, updatedAt: at, operation }))
  if (how.then !== null) {
    return schedule(next, { at: at + how.then.after, appId, vmUuid, status: how.then.status })
  }
  if (how.autoResolve && natural !== undefined) {
    return schedule(next, { at: at + world.settings.transitionDelayMs, appId, vmUuid, status: natural })
  }
  return next
}

/** Attribute changes; a new instance type or node also brings its sizes / node id unless given explicitly. */
export const patchAttributes = (cvm: CvmRecord, patch: CvmAttributes, at: number): CvmRecord => {
  const sizes = patch.instance_type === undefined ? undefined : instanceTypes[patch.instance_type]
  const node = patch.node === undefined ? undefined : nodes[patch.node]
  return {
    ...cvm,
    name: patch.name ?? cvm.name,
    instanceType: patch.instance_type ?? cvm.instanceType,
    vcpu: patch.vcpu ?? sizes?.vcpu ?? cvm.vcpu,
    memoryMb: patch.memory_mb ?? sizes?.memoryMb ?? cvm.memoryMb,
    gpuCount: patch.gpu_count ?? sizes?.gpus ?? cvm.gpuCount,
    diskGb: patch.disk_gb ?? cvm.diskGb,
    region: patch.region ?? cvm.region,
    node: patch.node ?? cvm.node,
    teepodId: patch.teepod_id ?? node?.id ?? cvm.teepodId,
    baseImage: patch.base_image ?? cvm.baseImage,
    kmsType: patch.kms_type ?? cvm.kmsType,
    kmsSlug: patch.kms_slug ?? cvm.kmsSlug,
    instanceId: patch.instance_id === undefined ? cvm.instanceId : patch.instance_id,
    listed: patch.listed ?? cvm.listed,
    composeHash: patch.compose_hash ?? cvm.composeHash,
    updatedAt: at
  }
}

const applyStep = (world: World, step: TimelineStep, at: number): World => {
  const app = world.apps.get(step.appId)
  if (app === undefined) return world
  let next = world
  if (step.faults !== undefined) {
    next = withApp(next, { ...app, faults: faultsFrom(step.faults ?? undefined) })
  }
  if (step.vmUuid !== null && step.set !== null) {
    const patch = step.set
    next = updateCvm(next, step.appId, step.vmUuid, (cvm) => patchAttributes(cvm, patch, at))
  }
  if (step.vmUuid !== null && step.status !== null) {
    next = changeStatus(next, step.appId, step.vmUuid, step.status, at, { then: step.then, autoResolve: true, override: true })
  }
  return next
}

const applyPending = (world: World, entry: Pending): World => {
  const rest = { ...world, pending: world.pending.filter((p) => p !== entry) }
  return changeStatus(rest, entry.appId, entry.vmUuid, entry.status, entry.at, { then: null, autoResolve: false, override: false })
}

/** Next timeline step strictly after the cursor, at an offset up to `limit`. */
const nextStep = (world: World, limit: number): { readonly t: number; readonly index: number } | null => {
  const { loopMs, timeline } = world.settings
  const { cursor } = world
  let best: { t: number; index: number } | null = null
  for (const [index, step] of timeline.entries()) {
    let t = step.at
    if (loopMs !== null && t < cursor.t) t += Math.ceil((cursor.t - t) / loopMs) * loopMs
    if (t < cursor.t || (t === cursor.t && index <= cursor.index)) {
      if (loopMs === null) continue
      t += loopMs
    }
    if (t > limit) continue
    if (best === null || t < best.t || (t === best.t && index < best.index)) best = { t, index }
  }
  return best
}

/** Applies every scheduled change and timeline step due by `now`, in time order. */
export const advance = (world: World, now: number): World => {
  const elapsed = now - world.startedAt
  let current = world
  // a loop that stalled for a very long time replays only its last round, not every missed one
  const loopMs = current.settings.loopMs
  if (loopMs !== null && elapsed - current.cursor.t > 100 * loopMs) {
    current = { ...current, cursor: { t: elapsed - loopMs, index: Number.MAX_SAFE_INTEGER } }
  }
  for (;;) {
    const pending = current.pending[0]
    const duePending = pending !== undefined && pending.at <= now ? pending : null
    const step = nextStep(current, duePending === null ? elapsed : Math.min(elapsed, duePending.at - current.startedAt))
    if (step !== null && (duePending === null || current.startedAt + step.t < duePending.at)) {
      const timelineStep = current.settings.timeline[step.index]
      current = { ...current, cursor: step }
      if (timelineStep !== undefined) current = applyStep(current, timelineStep, current.startedAt + step.t)
    } else if (duePending !== null) {
      current = applyPending(current, duePending)
    } else {
      return current
    }
  }
}

// == lookups

export type CvmLookup =
  | { readonly _tag: "Found"; readonly app: AppRecord; readonly cvm: CvmRecord }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "Ambiguous" }

const hex40 = /^[0-9a-f]{40}$/
const uuidLike = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/

/** Resolves the `{cvm_id}` path forms of the lifecycle endpoints; CVMs of forbidden apps are not found (ERR-03-003..005). */
export const findCvm = (world: World, ref: string): CvmLookup => {
  const text = ref.trim()
  const visible = [...world.apps.values()].filter((a) => !a.forbidden)
  const pairs = visible.flatMap((app) => app.cvms.map((cvm) => ({ app, cvm })))
  const one = (matches: ReadonlyArray<{ app: AppRecord; cvm: CvmRecord }>): CvmLookup => {
    const [first] = matches
    if (first === undefined) return { _tag: "NotFound" }
    return matches.length > 1 ? { _tag: "Ambiguous" } : { _tag: "Found", ...first }
  }
  const lower = text.toLowerCase()
  if (text.startsWith("cvm_")) return one(pairs.filter((p) => p.cvm.id === text))
  if (uuidLike.test(lower)) {
    const bare = lower.replaceAll("-", "")
    return one(pairs.filter((p) => p.cvm.vmUuid.replaceAll("-", "") === bare))
  }
  if (lower.startsWith("app_") || hex40.test(lower)) {
    const appId = normalizeAppId(lower)
    const app = visible.find((a) => a.appId === appId)
    if (app !== undefined) return one(app.cvms.map((cvm) => ({ app, cvm })))
  }
  const instance = lower.replace(/^instance_/, "")
  if (hex40.test(instance)) return one(pairs.filter((p) => p.cvm.instanceId === instance))
  return one(pairs.filter((p) => p.cvm.name === text))
}

// == lifecycle

export const lifecycleActions = ["start", "stop", "shutdown", "restart"] as const
export type LifecycleAction = (typeof lifecycleActions)[number]

const actionStatus: Record<LifecycleAction, string> = {
  start: "starting",
  stop: "stopping",
  shutdown: "shutting_down",
  restart: "restarting"
}

export type LifecycleResult =
  | CvmLookup
  | { readonly _tag: "Conflict" }
  | { readonly _tag: "Fault"; readonly fault: StatusFault }

/**
 * Puts the CVM into the action's transitional status, resolved after the transition delay. A CVM with an operation
 * in progress is a conflict, except for `stop`, which the API documents as a forced stop that cancels it.
 */
export const lifecycle = (world: World, ref: string, action: LifecycleAction, now: number): readonly [LifecycleResult, World] => {
  const found = findCvm(world, ref)
  if (found._tag !== "Found") return [found, world]
  const [fault, ...rest] = found.app.faults.actions
  if (fault !== undefined) {
    return [{ _tag: "Fault", fault }, withApp(world, { ...found.app, faults: { ...found.app.faults, actions: rest } })]
  }
  if (action !== "stop" && isTransitional(found.cvm.status)) return [{ _tag: "Conflict" }, world]
  const next = changeStatus(world, found.app.appId, found.cvm.vmUuid, actionStatus[action], now, {
    then: null,
    autoResolve: true,
    override: true
  })
  const app = next.apps.get(found.app.appId) ?? found.app
  const cvm = app.cvms.find((c) => c.vmUuid === found.cvm.vmUuid) ?? found.cvm
  return [{ _tag: "Found", app, cvm }, next]
}

// == admin operations

export type AdminResult<A> =
  | { readonly _tag: "Ok"; readonly value: A }
  | { readonly _tag: "NotFound"; readonly message: string }
  | { readonly _tag: "Conflict"; readonly message: string }

const ok = <A>(value: A): AdminResult<A> => ({ _tag: "Ok", value })
const notFound = (message: string): AdminResult<never> => ({ _tag: "NotFound", message })
const conflict = (message: string): AdminResult<never> => ({ _tag: "Conflict", message })

export type Op<A> = (world: World, now: number) => readonly [AdminResult<A>, World]

const withCvm = <A>(
  appIdText: string,
  vmUuid: string,
  f: (app: AppRecord, cvm: CvmRecord) => readonly [AdminResult<A>, World]
) =>
(world: World): readonly [AdminResult<A>, World] => {
  const app = world.apps.get(normalizeAppId(appIdText))
  if (app === undefined) return [notFound(`no app ${appIdText}`), world]
  const cvm = app.cvms.find((c) => c.vmUuid === vmUuid.toLowerCase())
  if (cvm === undefined) return [notFound(`app ${app.appId} has no CVM ${vmUuid}`), world]
  return f(app, cvm)
}

const cvmAfter = (world: World, appId: string, vmUuid: string): CvmRecord | undefined =>
  world.apps.get(appId)?.cvms.find((c) => c.vmUuid === vmUuid)

export const setStatus = (appId: string, vmUuid: string, status: string, then: Then | null): Op<CvmRecord> => (world, now) =>
  withCvm<CvmRecord>(appId, vmUuid, (app, cvm) => {
    const next = changeStatus(world, app.appId, cvm.vmUuid, status, now, { then, autoResolve: false, override: true })
    return [ok(cvmAfter(next, app.appId, cvm.vmUuid) ?? cvm), next]
  })(world)

export const patchCvm = (appId: string, vmUuid: string, patch: CvmAttributes): Op<CvmRecord> => (world, now) =>
  withCvm<CvmRecord>(appId, vmUuid, (app, cvm) => {
    const next = updateCvm(world, app.appId, cvm.vmUuid, (c) => patchAttributes(c, patch, now))
    return [ok(cvmAfter(next, app.appId, cvm.vmUuid) ?? cvm), next]
  })(world)

export const removeCvm = (appId: string, vmUuid: string): Op<null> => (world) =>
  withCvm<null>(appId, vmUuid, (app, cvm) => {
    const next = withApp(cancelPending(world, cvm.vmUuid), { ...app, cvms: app.cvms.filter((c) => c !== cvm) })
    return [ok(null), next]
  })(world)

const allUuids = (world: World): ReadonlySet<string> =>
  new Set([...world.apps.values()].flatMap((a) => a.cvms.map((c) => c.vmUuid)))

export const addCvm = (appIdText: string, spec: CvmSpec): Op<CvmRecord> => (world, now) => {
  const app = world.apps.get(normalizeAppId(appIdText))
  if (app === undefined) return [notFound(`no app ${appIdText}`), world]
  if (spec.vm_uuid !== undefined && allUuids(world).has(spec.vm_uuid)) {
    return [conflict(`a CVM with vm_uuid ${spec.vm_uuid} already exists`), world]
  }
  const cvm = buildCvm(spec, {
    seed: world.settings.seed,
    appId: app.appId,
    appName: app.name,
    kmsType: app.kmsType,
    key: `runtime:${world.serial}`,
    index: app.cvms.length,
    dbId: 10_000 + world.serial,
    now
  })
  let next: World = withApp({ ...world, serial: world.serial + 1 }, { ...app, cvms: [...app.cvms, cvm] })
  for (const step of spec.transitions ?? []) {
    next = schedule(next, { at: now + step.after, appId: app.appId, vmUuid: cvm.vmUuid, status: step.status })
  }
  return [ok(cvm), next]
}

export const addApp = (spec: AppSpec): Op<AppRecord> => (world, now) => {
  const built = buildApp(spec, world.settings.seed, null, `runtime:${world.serial}`, world.serial, now)
  if (world.apps.has(built.app.appId)) return [conflict(`app ${built.app.appId} already exists`), world]
  const uuids = allUuids(world)
  const clash = built.app.cvms.find((c) => uuids.has(c.vmUuid))
  if (clash !== undefined) return [conflict(`a CVM with vm_uuid ${clash.vmUuid} already exists`), world]
  let next: World = withApp({ ...world, serial: built.serial + 1 }, built.app)
  for (const p of built.pending) next = schedule(next, p)
  return [ok(built.app), next]
}

export const removeApp = (appIdText: string): Op<null> => (world) => {
  const app = world.apps.get(normalizeAppId(appIdText))
  if (app === undefined) return [notFound(`no app ${appIdText}`), world]
  const apps = new Map(world.apps)
  apps.delete(app.appId)
  const gone = new Set(app.cvms.map((c) => c.vmUuid))
  return [ok(null), { ...world, apps, pending: world.pending.filter((p) => !gone.has(p.vmUuid)) }]
}

export const setFaults = (appIdText: string, faults: Faults): Op<Faults> => (world) => {
  const app = world.apps.get(normalizeAppId(appIdText))
  if (app === undefined) return [notFound(`no app ${appIdText}`), world]
  return [ok(faults), withApp(world, { ...app, faults })]
}

// == faults on the request path

export type FaultAction =
  | { readonly _tag: "None" }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Status"; readonly status: number; readonly retryAfter: string | null }
  | { readonly _tag: "RateLimited"; readonly retryAfter: string | null }
  | { readonly _tag: "Malformed" }
  | { readonly _tag: "WrongTypes" }

export interface FaultDecision {
  readonly latencyMs: number | null
  readonly action: FaultAction
}

const none: FaultDecision = { latencyMs: null, action: { _tag: "None" } }

/** The fault for one request under `f`, and the faults left (a queued status or rate-limit slot is consumed). */
const decide = (f: Faults): readonly [FaultDecision, Faults] => {
  const latencyMs = f.latencyMs
  if (f.hang) return [{ latencyMs, action: { _tag: "Hang" } }, f]
  const [head, ...rest] = f.statuses
  if (head !== undefined) return [{ latencyMs, action: { _tag: "Status", ...head } }, { ...f, statuses: rest }]
  if (f.rateLimit !== null && f.rateLimit.remaining > 0) {
    const remaining = f.rateLimit.remaining - 1
    return [
      { latencyMs, action: { _tag: "RateLimited", retryAfter: f.rateLimit.retryAfter } },
      { ...f, rateLimit: remaining > 0 ? { ...f.rateLimit, remaining } : null }
    ]
  }
  if (f.malformed) return [{ latencyMs, action: { _tag: "Malformed" } }, f]
  if (f.wrongTypes) return [{ latencyMs, action: { _tag: "WrongTypes" } }, f]
  return [{ latencyMs, action: { _tag: "None" } }, f]
}

/** Decides the fault for one request to an app, consuming one queued status or rate-limit slot. */
export const takeFault = (world: World, appId: string): readonly [FaultDecision, World] => {
  const app = world.apps.get(appId)
  if (app === undefined || app.faults === noFaults) return [none, world]
  const [decision, faults] = decide(app.faults)
  return [decision, faults === app.faults ? world : withApp(world, { ...app, faults })]
}

const isActive = (f: Faults): boolean =>
  f.latencyMs !== null || f.hang || f.statuses.length > 0 || f.rateLimit !== null || f.malformed || f.wrongTypes

/**
 * Decides the fault for one request of list page `page`: the page's own faults while any are left, else the faults
 * of every page.
 */
export const takeListFault = (world: World, page: number): readonly [FaultDecision, World] => {
  const own = world.list.pages.get(page)
  if (own !== undefined && isActive(own)) {
    const [decision, faults] = decide(own)
    const pages = new Map(world.list.pages)
    pages.set(page, faults)
    return [decision, { ...world, list: { ...world.list, pages } }]
  }
  if (world.list.faults === noFaults) return [none, world]
  const [decision, faults] = decide(world.list.faults)
  return [decision, faults === world.list.faults ? world : { ...world, list: { ...world.list, faults } }]
}

export const setListBehaviour = (list: ListBehaviour): Op<ListBehaviour> => (world) => [ok(list), { ...world, list }]

/** Applies, once, the shifts due after list page `page` was served: removals, then additions first in the listing. */
export const shiftAfterPage = (page: number): Op<number> => (world, now) => {
  const due = world.list.shifts.filter((s) => s.afterPage === page)
  if (due.length === 0) return [ok(0), world]
  let next: World = { ...world, list: { ...world.list, shifts: world.list.shifts.filter((s) => s.afterPage !== page) } }
  for (const shift of due) {
    if (shift.remove !== null) next = removeApp(shift.remove)(next, now)[1]
    if (shift.add !== null) {
      const [result, added] = addApp(shift.add)(next, now)
      if (result._tag === "Ok") {
        const apps = new Map([[result.value.appId, result.value]])
        for (const [id, app] of added.apps) if (id !== result.value.appId) apps.set(id, app)
        next = { ...added, apps }
      }
    }
  }
  return [ok(due.length), next]
}
