import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// The conformance tier (`npm run test:conformance`): the official SDK judges the simulator. Not part of `npm test`,
// whose include pattern (`*.test.ts`) does not match these files.
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/conformance/**/*.conformance.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    minWorkers: 1
  }
})
