/**
 * Lifecycle actions through the official SDK (`stopCvm`, `startCvm`, `shutdownCvm`, `restartCvm`): each answer is a
 * `VM` the SDK's `VMSchema` parses, for CVMs of every bundled scenario, addressed in each form the SDK sends
 * (dashless UUID, `cvm_` id, name, `app_<id>`, `instance_<id>`). While a CVM is transitional its app still parses.
 */
import { CvmIdSchema, safeGetAppInfo, safeRestartCvm, safeShutdownCvm, safeStartCvm, safeStopCvm } from "@phala/cloud"
import { afterAll, describe, expect, it } from "vitest"
import { stopAll } from "../e2e/support/harness.js"
import {
  bundledScenarios,
  describeFailure,
  freshWorld,
  type SimApp,
  type SimCvm,
  sdkClient,
  sdkVersions,
  setStatus,
  simulatorFor,
  spread
} from "./support/conformance.js"

afterAll(stopAll)

const cvmsPerScenario = 40

describe.each(bundledScenarios)("scenario %s", (path) => {
  const running = simulatorFor(path)

  it.each(sdkVersions)("stop, start, shutdown and restart (%s) answer a VM the SDK parses", async (version) => {
    const { sim, key } = running()
    const apps = await freshWorld(sim)
    const client = sdkClient(sim, version, key)
    const visible = apps.filter((a) => !a.forbidden)
    const nameCount = new Map<string, number>()
    for (const cvm of visible.flatMap((a) => a.cvms)) nameCount.set(cvm.name, (nameCount.get(cvm.name) ?? 0) + 1)
    // the SDK sends a name only if it is a hostname (5-63 characters); the simulator resolves it only if unique
    const byName = (cvm: SimCvm) =>
      nameCount.get(cvm.name) === 1 && CvmIdSchema.safeParse({ name: cvm.name }).success ? { name: cvm.name } : { id: cvm.id }
    const byOwner = (app: SimApp, cvm: SimCvm) =>
      app.cvms.length === 1
        ? { app_id: app.app_id }
        : cvm.instance_id !== null
        ? { instance_id: `instance_${cvm.instance_id}` }
        : { uuid: cvm.vm_uuid }

    const targets = spread(visible.flatMap((app) => app.cvms.map((cvm) => ({ app, cvm }))), cvmsPerScenario)
    expect(targets.length).toBeGreaterThan(0)
    const failures: Array<string> = []
    let parsed = 0
    for (const { app, cvm } of targets) {
      const steps = [
        { action: "stop", status: "stopping", then: "stopped", call: () => safeStopCvm(client, { uuid: cvm.vm_uuid }) },
        { action: "start", status: "starting", then: "running", call: () => safeStartCvm(client, { id: cvm.id }) },
        { action: "shutdown", status: "shutting_down", then: "running", call: () => safeShutdownCvm(client, byName(cvm)) },
        { action: "restart", status: "restarting", then: "running", call: () => safeRestartCvm(client, { ...byOwner(app, cvm), force: true }) }
      ]
      for (const step of steps) {
        const result = await step.call()
        if (!result.success) {
          failures.push(`${step.action} ${cvm.name}: ${describeFailure(result.error)}`)
          continue
        }
        parsed++
        expect(result.data).toMatchObject({ status: step.status, vm_uuid: cvm.vm_uuid, app_id: app.app_id, name: cvm.name })
        if (step.action === "start" && (app.version === null || app.version === version)) {
          const during = await safeGetAppInfo(client, { appId: app.app_id })
          if (!during.success) failures.push(`${app.name} while ${cvm.name} is starting: ${describeFailure(during.error)}`)
        }
        await setStatus(sim, app, cvm, step.then)
      }
    }
    expect(failures, `the SDK rejected lifecycle answers of ${path} in ${version}`).toEqual([])
    expect(parsed).toBe(targets.length * 4)
  })
})
