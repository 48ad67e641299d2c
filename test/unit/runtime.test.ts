// The Node.js runtime: Node 24 LTS in the container and in CI, still Node 20.19+ on development machines.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import semver from "semver"
import { describe, expect, it } from "vitest"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const read = (path: string) => readFileSync(join(ROOT, path), "utf8")

interface LockPackage {
  readonly version?: string
  readonly dev?: boolean
  readonly engines?: { readonly node?: string } | ReadonlyArray<string>
}
const pkg = JSON.parse(read("package.json")) as { engines: { node: string } }
const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, LockPackage> }

/** The Node version of the pinned base image, as its comment states it, and the one CI tests the suite on. */
const containerNode = read("Dockerfile").match(/^# Base: node:24-bookworm-slim \(Node\.js (\d+\.\d+\.\d+)/m)?.[1]
const ciNode = read(".ci/run").match(/^NODE24=(\S+)$/m)?.[1]
const DEV_MACHINES = "20.19.0"

describe("runtime", () => {
  it("CI runs the suite on the container's Node 24", () => {
    expect(containerNode).toMatch(/^24\./)
    expect(ciNode).toBe(containerNode)
    expect(read(".ci/run")).toContain(`npx -y -p "node@\${NODE24}"`)
  })

  it("engines admits the container's Node and the development machines' Node 20.19, and not Node 18", () => {
    const range = pkg.engines.node
    expect(semver.validRange(range)).not.toBeNull()
    expect(semver.satisfies(String(containerNode), range)).toBe(true)
    expect(semver.satisfies(DEV_MACHINES, range)).toBe(true)
    expect(semver.satisfies("20.18.0", range)).toBe(false)
    expect(semver.satisfies("18.20.0", range)).toBe(false)
  })

  it("this test runs on a Node that engines admits", () => {
    expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true)
  })

  it("every production dependency supports both Node versions (a dependency needing Node 22 would break Node 20)", () => {
    const production = Object.entries(lock.packages).filter(([path, p]) => path !== "" && p.dev !== true)
    expect(production.length).toBeGreaterThan(20)
    const incompatible = production.flatMap(([path, p]) => {
      const range = Array.isArray(p.engines) ? undefined : (p.engines as { node?: string } | undefined)?.node
      if (range === undefined) return []
      return [DEV_MACHINES, String(containerNode)].filter((v) => !semver.satisfies(v, range)).map((v) => `${path} (${range}) rejects ${v}`)
    })
    expect(incompatible).toEqual([])
  })

  it("the dependency check sees engines in the lock file (it can fail)", () => {
    const devOnly = Object.entries(lock.packages).find(([path]) => path === "node_modules/kubernetes-models")?.[1]
    expect(devOnly?.dev).toBe(true)
    expect(semver.satisfies(DEV_MACHINES, String((devOnly?.engines as { node?: string } | undefined)?.node))).toBe(false)
  })
})
