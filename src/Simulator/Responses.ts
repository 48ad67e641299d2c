/** Wire shapes of the Phala Cloud API (reference §2, §4, §5.2), built from world records. */
import { STATUS_CODES } from "node:http"
import { type ApiVersion, instanceTypes, isApiVersion, isTransitional } from "./Catalog.js"
import * as Ids from "./Ids.js"
import type { AppRecord, CvmRecord, Faults, Settings, World } from "./World.js"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
export type JsonObject = { readonly [key: string]: Json }

const iso = (millis: number): string => new Date(millis).toISOString()

/** The version a request asks for: the header if it names a known version, else the scenario default. */
export const requestedVersion = (header: string | null, settings: Settings): ApiVersion => {
  const requested = header?.trim() ?? ""
  return isApiVersion(requested) ? requested : settings.defaultVersion
}

/**
 * The version of a single-app read: the app's pin wins over the request. Only `GET /apps/{app_id}` honours the pin;
 * a real server answers one version per request, so lists and lifecycle answers use `requestedVersion`.
 */
export const appReadVersion = (app: AppRecord, header: string | null, settings: Settings): ApiVersion =>
  app.version ?? requestedVersion(header, settings)

const isLegacy = (version: ApiVersion): boolean => version === "2025-10-28"

// == 2025-10-28: CvmBasicInfo

export const cvmBasicInfo = (cvm: CvmRecord): JsonObject => ({
  vm_uuid: cvm.vmUuid,
  app_id: cvm.appId,
  name: cvm.name,
  status: cvm.status,
  vcpu: cvm.vcpu,
  memory: cvm.memoryMb,
  disk_size: cvm.diskGb,
  teepod_id: cvm.teepodId,
  teepod_name: cvm.node,
  region_identifier: cvm.region,
  kms_type: cvm.kmsType,
  instance_type: cvm.instanceType,
  listed: cvm.listed,
  base_image: cvm.baseImage,
  kms_slug: cvm.kmsSlug,
  kms_id: cvm.kmsId,
  instance_id: cvm.instanceId,
  machine_info: { vcpu: cvm.vcpu, memory: cvm.memoryMb, disk_size: cvm.diskGb, gpu_count: cvm.gpuCount },
  updated_at: iso(cvm.updatedAt)
})

// == 2026-01-21: CVMInfo

const osVersion = (baseImage: string): string | null => /(\d+(?:\.\d+)+)/.exec(baseImage)?.[1] ?? null
const gatewayDomain = (cvm: CvmRecord): string => `dstack-pha-${cvm.node}.phala.network`

export const cvmInfo = (cvm: CvmRecord, app: AppRecord, seed: number): JsonObject => {
  const inProgress = isTransitional(cvm.status)
  const base = gatewayDomain(cvm)
  return {
    id: cvm.id,
    name: cvm.name,
    app_id: cvm.appId,
    vm_uuid: cvm.vmUuid,
    instance_id: cvm.instanceId,
    resource: {
      instance_type: cvm.instanceType,
      vcpu: cvm.vcpu,
      memory_in_gb: cvm.memoryMb / 1024,
      disk_in_gb: cvm.diskGb,
      gpus: cvm.gpuCount,
      compute_billing_price: instanceTypes[cvm.instanceType]?.hourlyRate ?? null,
      billing_period: "hourly"
    },
    node_info: {
      object_type: "node",
      id: cvm.teepodId,
      node_id: null,
      name: cvm.node,
      region: cvm.region,
      device_id: null,
      ppid: null,
      status: "ONLINE",
      version: null
    },
    os: { name: cvm.baseImage, version: osVersion(cvm.baseImage), is_dev: cvm.baseImage.includes("-dev-"), os_image_hash: null },
    kms_type: cvm.kmsType,
    kms_info: null,
    status: cvm.status,
    in_progress: inProgress,
    progress: inProgress && cvm.operation !== null
      ? { target: cvm.operation.target, started_at: iso(cvm.operation.startedAt), correlation_id: cvm.operation.correlationId }
      : null,
    compose_hash: cvm.composeHash,
    docker_compose_hash: null,
    pre_launch_script_hash: null,
    gateway: { base_domain: base, cname: null },
    logs: { serial: null, stdout: null, stderr: null, container_log_base: null },
    services: [],
    endpoints: cvm.instanceId === null
      ? []
      : [{ app: `https://${cvm.appId}-8080.${base}`, instance: `https://${cvm.instanceId}-8080.${base}` }],
    public_logs: false,
    public_sysinfo: true,
    public_tcbinfo: true,
    gateway_enabled: true,
    secure_time: false,
    storage_fs: "zfs",
    workspace: app.team === null ? null : {
      object_type: "workspace",
      id: Ids.hashid(Ids.rngFor(seed, `wks:${app.team.slug}`), "wks"),
      name: app.team.name,
      slug: app.team.slug,
      avatar_url: null
    },
    creator: null,
    created_at: iso(cvm.createdAt),
    deleted_at: null,
    listed: cvm.listed,
    project_type: null
  }
}

// == apps

export const minimalApp = (app: AppRecord): JsonObject => ({
  id: null,
  name: null,
  app_id: app.appId,
  app_provision_type: null,
  app_icon_url: null,
  created_at: null,
  kms_type: null,
  profile: null,
  current_cvm: null,
  cvms: null,
  cvm_count: null
})

export const appBody = (app: AppRecord, version: ApiVersion, seed: number): JsonObject => {
  if (app.shape === "minimal") return minimalApp(app)
  const cvms = app.cvms.map((cvm) => (isLegacy(version) ? cvmBasicInfo(cvm) : cvmInfo(cvm, app, seed)))
  const body: JsonObject = {
    id: app.id,
    name: app.name,
    app_id: app.appId,
    app_provision_type: null,
    app_icon_url: null,
    created_at: app.createdAt,
    kms_type: app.kmsType,
    profile: app.profile === null ? null : { ...app.profile },
    current_cvm: cvms[0] ?? null,
    cvms,
    cvm_count: cvms.length
  }
  return isLegacy(version) ? { ...body, team_slug: app.team?.slug ?? null, team_name: app.team?.name ?? null } : body
}

/** 200 with valid JSON whose fields have the wrong types (a client must call this bad_response, not guess). */
export const wrongTypesBody = (app: AppRecord, version: ApiVersion, seed: number): JsonObject => ({
  ...appBody({ ...app, shape: "full" }, version, seed),
  cvms: "oops",
  cvm_count: String(app.cvms.length),
  current_cvm: 42
})

/** 200 whose body stops in the middle of the JSON, as a proxy that cut the connection short would send. */
export const malformedBody = (app: AppRecord): string =>
  `{"id":${JSON.stringify(app.id)},"name":${JSON.stringify(app.name)},"app_id":${JSON.stringify(app.appId)},"cvms":[{"vm_uuid":`

/** A list page cut short in its first entry. */
export const malformedListBody = (page: number): string =>
  `{"page":${page},"dstack_apps":[{"app_id":`

/** A list page with valid JSON whose fields have the wrong types. */
export const wrongTypesListBody = (page: number, pageSize: number): JsonObject => ({
  dstack_apps: "oops",
  page: String(page),
  page_size: pageSize,
  total: "many",
  total_pages: null
})

// == lifecycle VM (§5.2)

export const vmBody = (cvm: CvmRecord, version: ApiVersion, seed: number): JsonObject => {
  const hashids = version === "2026-05-22"
  return {
    id: hashids ? cvm.id : cvm.dbId,
    name: cvm.name,
    status: cvm.status,
    teepod_id: cvm.teepodId,
    teepod: { id: cvm.teepodId, name: cvm.node },
    user_id: hashids ? Ids.hashid(Ids.rngFor(seed, "user"), "usr") : 1000 + (seed % 1000),
    app_id: cvm.appId,
    vm_uuid: cvm.vmUuid,
    instance_id: cvm.instanceId,
    app_url: cvm.instanceId === null ? null : `https://${cvm.instanceId}-8090.${gatewayDomain(cvm)}`,
    base_image: cvm.baseImage,
    vcpu: cvm.vcpu,
    memory: cvm.memoryMb,
    disk_size: cvm.diskGb,
    manifest_version: 2,
    version: osVersion(cvm.baseImage),
    runner: "docker-compose",
    docker_compose_file: null,
    features: ["kms", "tproxy-net"],
    created_at: iso(cvm.createdAt),
    encrypted_env_pubkey: null
  }
}

// == errors (§4.2)

export const detail = (message: string): JsonObject => ({ detail: message })

export const structuredError = (code: string, message: string, requestId: string): JsonObject => ({
  error_code: code,
  message,
  request_id: requestId,
  details: [],
  suggestions: [],
  links: []
})

export interface ValidationIssue {
  readonly loc: ReadonlyArray<string>
  readonly msg: string
  readonly type: string
  readonly input: string
  readonly ctx?: JsonObject
}

export const validationError = (issues: ReadonlyArray<ValidationIssue>): JsonObject => ({
  detail: issues.map((i) => ({ loc: [...i.loc], msg: i.msg, type: i.type, input: i.input, ...(i.ctx === undefined ? {} : { ctx: i.ctx }) }))
})

const nginxPage = (status: number): string => {
  const title = `${status} ${STATUS_CODES[status] ?? "Error"}`
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`
}

/** Body of an injected error status: gateways answer 502/504 with HTML, the backend with FastAPI `detail`. */
export const faultStatusBody = (status: number): { readonly body: string; readonly contentType: string } => {
  if (status === 502 || status === 504) return { body: nginxPage(status), contentType: "text/html" }
  const message = status === 500
    ? "An unexpected error occurred"
    : status === 429
    ? "Rate limit exceeded"
    : STATUS_CODES[status] ?? "Error"
  return { body: JSON.stringify(detail(message)), contentType: "application/json" }
}

// == admin view

export const faultsView = (f: Faults): JsonObject => ({
  latency_ms: f.latencyMs,
  statuses: f.statuses.map((s) => ({ status: s.status, retry_after: s.retryAfter })),
  rate_limit: f.rateLimit === null ? null : { remaining: f.rateLimit.remaining, retry_after: f.rateLimit.retryAfter },
  malformed: f.malformed,
  wrong_types: f.wrongTypes,
  hang: f.hang,
  actions: f.actions.map((s) => ({ status: s.status, retry_after: s.retryAfter }))
})

export const cvmView = (cvm: CvmRecord): JsonObject => ({
  vm_uuid: cvm.vmUuid,
  id: cvm.id,
  name: cvm.name,
  status: cvm.status,
  in_progress: isTransitional(cvm.status),
  target: cvm.operation?.target ?? null,
  instance_type: cvm.instanceType,
  vcpu: cvm.vcpu,
  memory_mb: cvm.memoryMb,
  disk_gb: cvm.diskGb,
  gpu_count: cvm.gpuCount,
  region: cvm.region,
  node: cvm.node,
  teepod_id: cvm.teepodId,
  base_image: cvm.baseImage,
  kms_type: cvm.kmsType,
  kms_slug: cvm.kmsSlug,
  instance_id: cvm.instanceId,
  listed: cvm.listed,
  compose_hash: cvm.composeHash,
  updated_at: iso(cvm.updatedAt)
})

export const appView = (app: AppRecord): JsonObject => ({
  app_id: app.appId,
  id: app.id,
  name: app.name,
  version: app.version,
  shape: app.shape,
  forbidden: app.forbidden,
  kms_type: app.kmsType,
  cvms: app.cvms.map(cvmView),
  faults: faultsView(app.faults)
})

export const worldView = (world: World, now: number): JsonObject => ({
  now: iso(now),
  started_at: iso(world.startedAt),
  elapsed_ms: now - world.startedAt,
  default_version: world.settings.defaultVersion,
  transition_delay_ms: world.settings.transitionDelayMs,
  timeline: { loop_ms: world.settings.loopMs, events: world.settings.timeline.length },
  apps: [...world.apps.values()].map(appView),
  pending: world.pending.map((p) => ({ at: iso(p.at), app_id: p.appId, vm_uuid: p.vmUuid, status: p.status }))
})
