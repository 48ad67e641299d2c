// Usage: node scripts/prune-production.js [node_modules]
//
// Shrinks a production node_modules (after `npm prune --omit=dev`) for the container image by deleting what only
// compilers, editors and debuggers read, and the CommonJS builds that an ES-module app can never load. The
// Dockerfile's build stage runs it; test/e2e/container.e2e.test.ts runs the same steps and then serve, plan and
// simulate from the result. Prints the size before and after.
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join, relative } from "node:path"

const root = process.argv[2] ?? "node_modules"
if (!existsSync(root)) {
  console.error(`prune-production: no ${root}`)
  process.exit(1)
}

const sizeOf = (path) => {
  const st = lstatSync(path, { throwIfNoEntry: false })
  if (st === undefined) return 0
  if (!st.isDirectory()) return st.size
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0)
}

/** Every installed package directory (nested node_modules included), with its package.json. */
const packages = (dir, found = []) => {
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".")) continue
    const path = join(dir, name)
    if (name.startsWith("@")) {
      packages(path, found)
      continue
    }
    const manifest = join(path, "package.json")
    if (!existsSync(manifest)) continue
    found.push({ dir: path, json: JSON.parse(readFileSync(manifest, "utf8")) })
    if (existsSync(join(path, "node_modules"))) packages(join(path, "node_modules"), found)
  }
  return found
}

// The conditions Node uses when an ES module imports a package (in the order of the exports object that decides).
const importConditions = new Set(["node", "import", "module-sync", "node-addons", "default"])
const resolveTarget = (entry) => {
  if (typeof entry === "string" || entry === null) return entry
  if (Array.isArray(entry)) return entry.length > 0 ? resolveTarget(entry[0]) : null
  for (const [condition, value] of Object.entries(entry)) {
    if (importConditions.has(condition)) {
      const target = resolveTarget(value)
      if (target !== undefined) return target
    }
  }
  return undefined
}
const subpaths = (exports) => {
  if (exports === undefined) return []
  if (typeof exports === "string" || Array.isArray(exports)) return [exports]
  const keys = Object.keys(exports)
  return keys.length > 0 && keys.every((k) => k.startsWith(".")) ? Object.values(exports) : [exports]
}
const hasRequire = (entry) =>
  typeof entry === "object" && entry !== null &&
  Object.entries(entry).some(([condition, value]) => condition === "require" || hasRequire(value))

const all = packages(root)
const byName = new Map(all.map((p) => [p.json.name, p]))

/**
 * A package's dist/cjs can go when every subpath an `import` resolves to lies elsewhere, and every package that
 * depends on it loads it as an ES module too (it is itself such a package, or ESM-only): a CommonJS dependent
 * would `require` the CommonJS build.
 */
let cjsPrunable = new Set(
  all.filter((p) => {
    if (!existsSync(join(p.dir, "dist", "cjs"))) return false
    const targets = subpaths(p.json.exports).map(resolveTarget)
    return targets.length > 0 && targets.every((t) => typeof t === "string" && !t.startsWith("./dist/cjs/"))
  }).map((p) => p.json.name)
)
const esmOnly = (p) => p.json.type === "module" && !subpaths(p.json.exports).some(hasRequire)
for (let changed = true; changed;) {
  changed = false
  for (const p of all) {
    if (cjsPrunable.has(p.json.name) || esmOnly(p)) continue
    const deps = { ...p.json.dependencies, ...p.json.optionalDependencies, ...p.json.peerDependencies }
    for (const name of Object.keys(deps)) {
      if (cjsPrunable.delete(name)) changed = true
    }
  }
}

const before = sizeOf(root)
let removed = 0
const remove = (path) => {
  rmSync(path, { recursive: true, force: true })
  removed++
}

for (const p of all) {
  if (cjsPrunable.has(p.json.name) && byName.get(p.json.name) === p) remove(join(p.dir, "dist", "cjs"))
  // test suites, docs and examples at the package root, unless the package's entry points live there
  const entries = JSON.stringify([p.json.main, p.json.exports, p.json.bin, p.json.browser])
  for (const name of ["test", "tests", "__tests__", "docs", "example", "examples", "benchmark", "benchmarks"]) {
    if (existsSync(join(p.dir, name)) && !entries.includes(name)) remove(join(p.dir, name))
  }
}

/** TypeScript sources and declarations (Node never strips types under node_modules), source maps, and docs. */
const junkFile = (name) =>
  /\.(ts|mts|cts|map|tsbuildinfo)$/.test(name) || /^(readme|changelog|history)(\.(md|markdown|txt))?$/i.test(name)
const sweep = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (lstatSync(path).isDirectory()) {
      sweep(path)
      if (readdirSync(path).length === 0) remove(path)
    } else if (junkFile(name)) {
      remove(path)
    }
  }
}
sweep(root)

const after = sizeOf(root)
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
console.log(
  `prune-production: ${relative(process.cwd(), root) || root} ${mib(before)} -> ${mib(after)} ` +
    `(${removed} paths removed; CommonJS builds dropped: ${[...cjsPrunable].sort().join(", ") || "none"})`
)
