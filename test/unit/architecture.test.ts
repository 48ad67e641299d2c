// The floors of docs/architecture.md, checked on the source: every import of every file under src/ goes down (or
// sideways within its own folder), never up or across to another service's internals.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const SRC = join(ROOT, "src")

const walk = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : path.endsWith(".ts") ? [path] : []
  })

/** Every module specifier a file imports or re-exports, statically or with `import()`. */
const specifiersOf = (text: string): ReadonlyArray<string> => {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")
  const found: Array<string> = []
  for (const m of code.matchAll(/(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\sfrom\s+)?"([^"]+)"/g)) found.push(m[1] ?? "")
  for (const m of code.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) found.push(m[1] ?? "")
  return found
}

/** The floor of a file or folder under src/: `Core`, `Runtime`, a service folder, `main.ts`. */
const floorOf = (path: string): string => relative(SRC, path).split("/")[0] ?? ""

const services = ["Config", "Cloud", "Metrics", "Alerts", "Http"]
const pure = ["Core"]
const below: Readonly<Record<string, ReadonlyArray<string>>> = {
  Core: pure,
  Support: [...pure, "Support"],
  Runtime: [...pure, "Support", "Runtime"],
  ...Object.fromEntries(services.map((s) => [s, [...pure, "Support", "Runtime", s]])),
  Simulator: [...pure, "Support", "Simulator"],
  Daemon: [...pure, "Support", "Runtime", ...services, "Daemon"],
  Cli: [...pure, "Support", "Runtime", ...services, "Simulator", "Daemon", "Cli"],
  "main.ts": ["Cli"]
}

/** Packages the pure core may use: Effect itself, and hashing (fingerprints, shards) from node:crypto. */
const corePackages = (specifier: string): boolean =>
  specifier === "effect" || specifier.startsWith("effect/") || specifier === "node:crypto"

interface Violation {
  readonly file: string
  readonly imports: string
  readonly why: string
}

const violations = (files: ReadonlyArray<{ readonly path: string; readonly text: string }>): ReadonlyArray<Violation> =>
  files.flatMap(({ path, text }) => {
    const from = floorOf(path)
    const allowed = below[from]
    const file = relative(ROOT, path)
    if (allowed === undefined) return [{ file, imports: "", why: `${from} is not a floor of docs/architecture.md` }]
    return specifiersOf(text).flatMap((specifier): ReadonlyArray<Violation> => {
      if (!specifier.startsWith(".")) {
        return from === "Core" && !corePackages(specifier)
          ? [{ file, imports: specifier, why: "the pure core imports only effect (and node:crypto for hashing)" }]
          : []
      }
      const target = resolve(dirname(path), specifier)
      if (!target.startsWith(SRC)) return [{ file, imports: specifier, why: "outside src/" }]
      const to = floorOf(target)
      return allowed.includes(to) ? [] : [{ file, imports: specifier, why: `${from} may not import ${to}` }]
    })
  })

describe("floors (docs/architecture.md)", () => {
  it("every import under src/ goes down a floor or stays in its own folder", () => {
    const files = walk(SRC).map((path) => ({ path, text: readFileSync(path, "utf8") }))
    expect(files.length).toBeGreaterThan(50)
    expect(violations(files)).toEqual([])
  })

  it("the check sees wrong-way imports (it can fail)", () => {
    const file = (path: string, text: string) => ({ path: join(SRC, path), text })
    expect(violations([
      file("Core/Diff.ts", `import { PhalaClient } from "../Cloud/PhalaClient.js"\nimport * as Prom from "prom-client"`),
      file("Http/Routes.ts", `import type { Cycle } from "../Daemon/Cycle.js"`),
      file("Metrics/Metrics.ts", `export { ApiAttempt } from "../Cloud/PhalaClient.js"`),
      file("Alerts/Alerting.ts", `const m = await import("../Metrics/Metrics.js")`),
      file("main.ts", `import { daemonLayer } from "./Daemon/Daemon.js"`),
      file("Cli/Plan.ts", `import { planJson } from "../Core/Plan/PlanJson.js"\nimport { Effect } from "effect"`)
    ]).map((v) => `${v.file} -> ${v.imports}: ${v.why}`)).toEqual([
      "src/Core/Diff.ts -> ../Cloud/PhalaClient.js: Core may not import Cloud",
      "src/Core/Diff.ts -> prom-client: the pure core imports only effect (and node:crypto for hashing)",
      "src/Http/Routes.ts -> ../Daemon/Cycle.js: Http may not import Daemon",
      "src/Metrics/Metrics.ts -> ../Cloud/PhalaClient.js: Metrics may not import Cloud",
      "src/Alerts/Alerting.ts -> ../Metrics/Metrics.js: Alerts may not import Metrics",
      "src/main.ts -> ./Daemon/Daemon.js: main.ts may not import Daemon"
    ])
  })
})
