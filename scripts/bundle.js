// Bundles the built CLI (tsc's output in dist/) into dist/cli/: one file per entry (the CLI and the config loader's
// worker) plus shared chunks, so a command loads a few dozen files instead of ~900 modules (start-up ~1.3 s -> ~0.6 s
// on the reference machine; bench/README.md). dist/main.js becomes a one-line entry into dist/cli/main.js, so every way
// of running the CLI (the bin, the image's ENTRYPOINT, the tests) runs the bundle. The other modules of dist/ stay as
// tsc wrote them: tests and benchmarks import them one by one.
// dist/cli/ sits two levels below the package root like dist/<dir>/, which is what the modules that locate files from
// import.meta.url expect (package.json, build-info.json, config/, the worker's ./IsolatedEntry.js).
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { build } from "esbuild"

const entry = "dist/main.js"
const stub = `#!/usr/bin/env node\n// the bundled CLI (scripts/bundle.js)\nimport "./cli/main.js"\n`

if (readFileSync(entry, "utf8") === stub) {
  console.error(`${entry} is already the bundle's entry: run tsc first (npm run build)`)
  process.exit(1)
}
rmSync("dist/cli", { recursive: true, force: true })
await build({
  entryPoints: { main: entry, IsolatedEntry: "dist/Config/IsolatedEntry.js" },
  outdir: "dist/cli",
  entryNames: "[name]",
  chunkNames: "chunk-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // the commands stay lazy: each dynamic import() of Cli/Run.ts is a chunk of its own
  // CommonJS dependencies (prom-client, undici, yaml) call require() for Node's modules, which ES modules lack
  banner: { js: `import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);` },
  // not keepNames: it wraps every function as it is created (closures on hot paths too), ~9 % of a cycle's CPU;
  // nothing reads a function's or class's name (tags and service keys are strings)
  legalComments: "linked",
  logLevel: "warning"
})
writeFileSync(entry, stub, { mode: 0o755 })
