import { Data } from "effect"
import type { AppId } from "./AppId.js"

/** One CVM as the API reported it, normalised across response versions (memory MB, disk GB). */
export interface ObservedCvm {
  readonly vmUuid: string | null
  readonly name: string
  /** Free text from the API, as sent (not lower-cased). */
  readonly status: string
  readonly instanceType: string | null
  readonly vcpu: number | null
  readonly memoryMb: number | null
  readonly diskGb: number | null
  readonly region: string | null
  readonly baseImage: string | null
  readonly kmsType: string | null
  readonly node: string | null
  /** Hash of the app compose the CVM runs; only the `2026-01-21` shape reports it (null otherwise). */
  readonly composeHash: string | null
}

export interface ObservedApp {
  readonly appId: AppId
  readonly name: string | null
  /** Observed replica count: length of `cvms`, else `cvm_count`, else 1 if `current_cvm` (never a guess). */
  readonly replicas: number
  /** The CVM objects the response carried (may be fewer than `replicas` when only `cvm_count` was sent). */
  readonly cvms: ReadonlyArray<ObservedCvm>
}

/**
 * Why an app is `unknown` (DESIGN §4). `incomplete`: a 200 that does not say how many CVMs run (minimal shape);
 * `internal`: a defect of phala-drift while handling the app, not something the API did.
 */
export const fetchFailureReasons = [
  "auth",
  "forbidden",
  "rate_limited",
  "timeout",
  "network",
  "server",
  "bad_response",
  "incomplete",
  "client",
  "internal"
] as const
export type FetchFailureReason = (typeof fetchFailureReasons)[number]

/** A fetch that failed after retries: the app becomes `unknown`. Messages never carry secrets. */
export class FetchFailure extends Data.TaggedError("FetchFailure")<{
  readonly appId: AppId
  readonly reason: FetchFailureReason
  readonly status: number | null
  readonly message: string
}> {}

/** The API's own 404 about a declared app, from a confirmed base URL: drift of kind `missing_app`, not a failure. */
export class AppNotFound extends Data.TaggedError("AppNotFound")<{
  readonly appId: AppId
}> {}

export type Observation =
  | { readonly _tag: "Found"; readonly app: ObservedApp }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "Failed"; readonly failure: FetchFailure }

const notFound: Observation = { _tag: "NotFound" }

export const Observation = {
  found: (app: ObservedApp): Observation => ({ _tag: "Found", app }),
  notFound,
  failed: (failure: FetchFailure): Observation => ({ _tag: "Failed", failure })
}

/** A page of the workspace listing that could not be read after retries: the apps it held are read one by one. */
export class ListPageFailure extends Data.TaggedError("ListPageFailure")<{
  readonly page: number
  readonly reason: FetchFailureReason
  readonly status: number | null
  readonly message: string
}> {}
