import { Effect, Ref } from "effect"
import type { ActionRecord } from "../Core/Domain/ActionRecord.js"
import type { FailedRemediation } from "../Core/Remediation.js"

/**
 * What self-healing tells the rest of the daemon: the CVMs it gave up on (the alert engine turns them into
 * `PhalaRemediationFailed` at its next evaluation) and its recent records (the API and the status page). Written by
 * the remediation service only.
 */
export class RemediationView extends Effect.Service<RemediationView>()("phala-drift/RemediationView", {
  effect: Effect.gen(function*() {
    const failed = yield* Ref.make<ReadonlyArray<FailedRemediation>>([])
    /** Oldest first, bounded by the writer. */
    const records = yield* Ref.make<ReadonlyArray<ActionRecord>>([])
    const enabled = yield* Ref.make(false)
    return {
      failed: Ref.get(failed),
      setFailed: (list: ReadonlyArray<FailedRemediation>) => Ref.set(failed, list),
      /** Newest first, at most `limit`. */
      recent: (limit: number) => Effect.map(Ref.get(records), (all) => all.slice(-limit).reverse()),
      setRecords: (list: ReadonlyArray<ActionRecord>) => Ref.set(records, list),
      enabled: Ref.get(enabled),
      setEnabled: (on: boolean) => Ref.set(enabled, on)
    } as const
  })
}) {}
