import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // e2e suites start real processes on loopback; two cores do not gain from more workers
    maxWorkers: 2,
    minWorkers: 1
  }
})
