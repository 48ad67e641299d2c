import { Effect } from "effect"
import { fileURLToPath } from "node:url"
import { serveSimulator } from "../Simulator/Simulator.js"
import { integerOf, type Invocation } from "./Args.js"
import { runsUntilSignalled, setExitCode } from "./ExitCode.js"
import { printErr, printOut } from "./Output.js"
import { runDaemon } from "./Serve.js"

// src/Cli and dist/Cli are both two levels below the package root, where config/ lives
const bundled = (file: string): string => fileURLToPath(new URL(`../../config/${file}`, import.meta.url))

/** The default of `server.phala_webhook.secret` in config/demo.yaml: both ends are on loopback. */
const demoWebhookSecret = "whsec_demo_not_a_secret"

const banner = (apiUrl: string, base: string): string =>
  [
    "",
    "phala-drift demo: the daemon is watching a simulated Phala Cloud fleet (drift comes and goes every few minutes).",
    "",
    `  status page   ${base}/`,
    `  plan (text)   ${base}/api/v1/plan?format=text`,
    `  plan (JSON)   ${base}/api/v1/plan`,
    `  metrics       ${base}/metrics`,
    `  health        ${base}/healthz   ready: ${base}/readyz`,
    `  simulator     ${apiUrl}   (state: ${apiUrl.replace(/\/api\/v1$/, "")}/_sim/state)`,
    "",
    "Make drift yourself (the simulator sends a signed webhook, so it shows within a second), e.g.:",
    `  curl -X PUT ${apiUrl.replace(/\/api\/v1$/, "")}/_sim/apps/<app_id>/cvms/<vm_uuid>/status -d '{"status":"stopped"}'`,
    "",
    "Press Ctrl+C to stop.",
    ""
  ].join("\n")

export const run = (invocation: Invocation) => {
  const port = integerOf(invocation, "port") ?? 9477
  const simPort = integerOf(invocation, "sim-port") ?? 8787
  return runsUntilSignalled(Effect.scoped(Effect.gen(function*() {
    const started = yield* Effect.either(serveSimulator({ scenarioPath: bundled("scenarios/demo.yaml"), host: "127.0.0.1", port: simPort }))
    if (started._tag === "Left") {
      const hint = started.left.reason === "listen" ? "\nanother port for the simulator: phala-drift demo --sim-port N (and --port N for the daemon)" : ""
      yield* printErr(`phala-drift demo: ${started.left.message}${hint}`)
      return yield* setExitCode(1)
    }
    const sim = started.right
    const apiUrl = `${sim.url}/api/v1`
    // push: the simulator signs a webhook to the daemon on every status change (config/demo.yaml's phala_webhook)
    sim.state.webhooks.targets = [{ url: `http://127.0.0.1:${port}/hooks/phala`, secret: demoWebhookSecret }]
    yield* printOut(banner(apiUrl, `http://127.0.0.1:${port}`))
    const env = { ...process.env, PHALA_CLOUD_API_URL: apiUrl, PHALA_CLOUD_API_PREFIX: undefined, PHALA_CLOUD_API_KEY: undefined, PHALA_WEBHOOK_SECRET: undefined }
    yield* runDaemon(bundled("demo.yaml"), env, { listen: `127.0.0.1:${port}`, stateDir: undefined, shard: null })
    // the daemon returns only when it could not start (a signal interrupts it instead)
    yield* printErr(`phala-drift demo: the daemon did not start; if port ${port} is taken, pick another with --port N`)
  })))
}
