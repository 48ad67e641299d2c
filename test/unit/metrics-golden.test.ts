// Golden exposition files, one per metric family: a fixed sequence of snapshots and events is rendered through the
// served metrics (src/Metrics/Metrics.ts), and each family (HELP, TYPE, samples sorted) is compared with
// test/golden/exposition/<family>.prom.
//
// A change to a family's name, help, labels or values shows as a diff of that family's file. To accept it, or to add
// the file of a new family, rewrite the files and review them in the commit:
//
//   UPDATE_GOLDEN=1 npx vitest run test/unit/metrics-golden.test.ts
//
// Families whose samples depend on the machine or the release (process_*, nodejs_*, phala_drift_build_info) have no
// golden file; the metric store's own goldens (test/golden/metrics/) are another test's (metric-store.test.ts).
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Observation } from "../../src/Core/Domain/Observation.js"
import type { Snapshot } from "../../src/Core/Domain/Report.js"
import { diffApp } from "../../src/Core/Diff.js"
import { Metrics } from "../../src/Metrics/Metrics.js"
import { DaemonEvent, Events } from "../../src/Runtime/Events.js"
import { cvm, desiredApp, observedApp } from "../support/builders.js"
import { appIdOf, fleetApp, fleetSnapshot } from "../support/fleet.js"
import { servedText } from "../support/served.js"

const DIR = fileURLToPath(new URL("../golden/exposition/", import.meta.url))
const UPDATE = process.env["UPDATE_GOLDEN"] === "1"
const UPDATE_HINT = "UPDATE_GOLDEN=1 npx vitest run test/unit/metrics-golden.test.ts"

/** Families that differ from machine to machine or release to release. */
const environmental = (name: string): boolean =>
  name.startsWith("process_") || name.startsWith("nodejs_") || name === "phala_drift_build_info"

/**
 * An exposition split into families: HELP, TYPE, then the samples sorted (histogram and summary samples belong to the
 * family of their HELP line, which prom-client writes first).
 */
export const splitFamilies = (exposition: string): ReadonlyMap<string, string> => {
  const families = new Map<string, { help: string; type: string; samples: Array<string> }>()
  let current: { help: string; type: string; samples: Array<string> } | undefined
  for (const line of exposition.split("\n")) {
    if (line === "") continue
    const help = /^# HELP (\S+) /.exec(line)
    if (help?.[1] !== undefined) {
      current = { help: line, type: "", samples: [] }
      families.set(help[1], current)
    } else if (current === undefined) {
      throw new Error(`a line before the first HELP: ${line}`)
    } else if (line.startsWith("# TYPE ")) {
      current.type = line
    } else {
      current.samples.push(line)
    }
  }
  return new Map([...families].map(([name, f]) => [name, [f.help, f.type, ...f.samples.sort()].join("\n") + "\n"]))
}

const HOSTILE = "evil \"quoted\" back\\slash\nnewline ünïcødé 🚀"

/** Two cycles: app 5 is observed, then times out (its drift and CVM series keep their last values). */
const cycles = (): readonly [Snapshot, Snapshot] => {
  const unbounded = diffApp(
    desiredApp({ appId: appIdOf(6), name: "unbounded", replicas: { min: 1, max: null } }),
    Observation.found(observedApp([cvm({ status: "Hibernating", region: null, node: null })], { appId: appIdOf(6) }))
  )
  const hostile = diffApp(
    desiredApp({ appId: appIdOf(7), name: null, replicas: { min: 1, max: 1 } }),
    Observation.found(observedApp([cvm({ name: HOSTILE, vmUuid: HOSTILE })], { appId: appIdOf(7), name: HOSTILE }))
  )
  return [
    fleetSnapshot(1_000, [fleetApp(1), fleetApp(2, "stopped"), fleetApp(3, "missing"), fleetApp(4, "extra"), fleetApp(5, "stopped"), unbounded, hostile]),
    fleetSnapshot(1_060, [fleetApp(1), fleetApp(2, "stopped"), fleetApp(3, "missing"), fleetApp(4, "extra"), fleetApp(5, "unknown"), unbounded, hostile])
  ]
}

/** Every event the daemon's services report, at least once. */
const events: ReadonlyArray<DaemonEvent> = [
  DaemonEvent.ConfigLoaded({ success: true, at: 900_000 }),
  DaemonEvent.ConfigLoaded({ success: false, at: 1_030_000 }),
  DaemonEvent.ApiAttempt({ code: "200", seconds: 0.12, endpoint: "app" }),
  DaemonEvent.ApiAttempt({ code: "200", seconds: 0.3, endpoint: "app" }),
  DaemonEvent.ApiAttempt({ code: "503", seconds: 0.04, endpoint: "list" }),
  DaemonEvent.ApiAttempt({ code: "timeout", seconds: 5, endpoint: "app" }),
  DaemonEvent.TickSkipped(),
  DaemonEvent.NotificationAttempt({ receiver: "ops", result: "failure" }),
  DaemonEvent.NotificationAttempt({ receiver: "ops", result: "success" }),
  DaemonEvent.NotificationAttempt({ receiver: "chat", result: "dropped" }),
  DaemonEvent.StateWriteFailed(),
  DaemonEvent.AlertsEvaluated({
    alerts: [{ alertname: "PhalaCvmStatusDrift", state: "firing" }, { alertname: "PhalaAppReplicaDrift", state: "pending" }],
    names: ["PhalaAppMissing", "PhalaAppReplicaDrift", "PhalaCvmStatusDrift"]
  }),
  DaemonEvent.QueueLengths({ lengths: new Map([["ops", 2], ["chat", 0]]) })
]

/** The exposition after `cycles` and `events`, on the test clock (cycles of 1.5 s and 2 s). */
const rendered = Effect.gen(function*() {
  const metrics = yield* Metrics
  const hub = yield* Events
  const [first, second] = cycles()
  yield* TestClock.setTime(1_001_500)
  yield* metrics.record(first, { startedAt: 1_000_000, phases: { observe: 1_200, alerts: 250 } })
  for (const event of events) yield* hub.publish(event)
  yield* TestClock.setTime(1_062_000)
  yield* metrics.record(second, { startedAt: 1_060_000, phases: { observe: 1_700, alerts: 200 } })
  return (yield* servedText(metrics))
}).pipe(Effect.provide(Metrics.DefaultWithoutDependencies.pipe(Layer.provideMerge(Events.Default))))

const goldenPath = (family: string) => `${DIR}${family}.prom`

describe("golden exposition, one file per metric family", () => {
  it("splits families and sorts their samples (the comparison can fail)", () => {
    const text = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"2\"} 1\na_total{x=\"1\"} 1\n# HELP b B.\n# TYPE b gauge\nb 0\n"
    expect([...splitFamilies(text)]).toEqual([
      ["a_total", "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 1\n"],
      ["b", "# HELP b B.\n# TYPE b gauge\nb 0\n"]
    ])
    expect(() => splitFamilies("b 0\n")).toThrow("before the first HELP")
  })

  it.effect("every family the daemon serves matches its golden file", () =>
    Effect.gen(function*() {
      const families = new Map([...splitFamilies(yield* rendered)].filter(([name]) => !environmental(name)))
      expect(families.size).toBeGreaterThan(20)
      if (UPDATE) {
        mkdirSync(DIR, { recursive: true })
        for (const file of readdirSync(DIR)) if (!families.has(file.replace(/\.prom$/, ""))) rmSync(`${DIR}${file}`)
        for (const [name, text] of families) writeFileSync(goldenPath(name), text)
      }
      const missing = [...families.keys()].filter((name) => !existsSync(goldenPath(name)))
      expect(missing.map((name) => `no golden file for family ${name}; run ${UPDATE_HINT} and review test/golden/exposition/${name}.prom`)).toEqual([])
      const stale = readdirSync(DIR).map((file) => file.replace(/\.prom$/, "")).filter((name) => !families.has(name))
      expect(stale.map((name) => `golden file for family ${name}, which is no longer served; run ${UPDATE_HINT} to remove it`)).toEqual([])
      for (const [name, text] of families) expect(text, `family ${name} (test/golden/exposition/${name}.prom; ${UPDATE_HINT} to accept)`).toBe(readFileSync(goldenPath(name), "utf8"))
    }))
})
