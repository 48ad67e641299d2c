import { spawn, spawnSync } from "node:child_process"
import { cpSync, existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { cleanEnv, fixture, freePort, ROOT, startSimulator, stopAll, tempDir, waitFor } from "./support/harness.js"

const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8")

afterAll(stopAll)

describe("Dockerfile", () => {
  it("is multi-stage, runs as non-root, exposes the default port and probes /healthz without extra packages", () => {
    expect(dockerfile.match(/^FROM node:20/gm)?.length).toBe(2)
    expect(dockerfile).toMatch(/^RUN npm ci/m)
    expect(dockerfile).toMatch(/npm run build && npm prune --omit=dev/)
    expect(dockerfile).toMatch(/^USER node$/m)
    expect(dockerfile).toMatch(/^EXPOSE 9477$/m)
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*127\.0\.0\.1:9477\/healthz/m)
    expect(dockerfile.split("\n").filter((l) => !l.startsWith("#")).join("\n")).not.toMatch(/apt-get|apk add|curl|wget/)
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/main\.js", "serve"/m)
    expect(dockerfile).toContain("PHALA_DRIFT_CONFIG=/etc/phala-drift/desired.yaml")
  })

  it("the production layout it builds (npm ci --omit=dev + dist) runs serve and passes its health check", async () => {
    const app = tempDir("phala-drift-image-")
    for (const f of ["package.json", "package-lock.json"]) cpSync(join(ROOT, f), join(app, f))
    cpSync(join(ROOT, "dist"), join(app, "dist"), { recursive: true })
    cpSync(join(ROOT, "config"), join(app, "config"), { recursive: true })
    const install = spawnSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: app, encoding: "utf8" })
    expect(install.status, install.stderr).toBe(0)
    expect(existsSync(join(app, "node_modules", "vitest"))).toBe(false)
    expect(existsSync(join(app, "node_modules", "effect"))).toBe(true)

    const sim = await startSimulator(fixture("e2e", "daemon.scenario.yaml"))
    const port = await freePort()
    const child = spawn(process.execPath, [join(app, "dist", "main.js"), "serve", "--config", fixture("e2e", "daemon.desired.yaml"), "--listen", `127.0.0.1:${port}`], {
      cwd: app,
      env: cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: "phak_e2e_daemon_7f3a9c21", NODE_ENV: "production" }),
      stdio: ["ignore", "ignore", "pipe"]
    })
    try {
      await waitFor("image daemon ready", async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 30_000)
      const probe = (dockerfile.match(/"-e", "(.*)"\]/)?.[1] ?? "").replace(/\\"/g, "\"").replace("9477", String(port))
      expect(probe).toContain("/healthz")
      const health = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8" })
      expect(health.status).toBe(0)
    } finally {
      child.kill("SIGTERM")
    }
  }, 180_000)
})
