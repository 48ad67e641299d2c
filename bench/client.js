// The request path alone: CPU per GET /apps/{id} through the built PhalaClient (retries, permits, bounded body,
// decoding), against the stand-in with no latency, warm connections. Run it for two builds in one sitting and
// compare the ratio (PHALA_DRIFT_DIST selects the build). Usage:
//   node bench/standin.js --apps 2000 &   then   node bench/client.js --url http://127.0.0.1:PORT/api/v1 [--passes 3]
// Prints one JSON line: {"apps":…,"passes":[{"ms":…,"cpu_us_per_request":…,"errors":…}, …]}.
import { join } from "node:path"
import { parseArgs } from "node:util"
import { API_KEY, DIST } from "./lib.js"

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    concurrency: { type: "string", default: "64" },
    passes: { type: "string", default: "3" },
    version: { type: "string", default: "2025-10-28" }
  }
})
const { Duration, Effect, Layer, Redacted } = await import("effect")
const { FetchHttpClient } = await import("@effect/platform")
const { PhalaClient } = await import(join(DIST, "Cloud", "PhalaClient.js"))
const { Events } = await import(join(DIST, "Runtime", "Events.js"))

const api = values.url ?? ""
const concurrency = Number(values.concurrency)
const ids = await (await fetch(`${new URL(api).origin}/_standin/apps`)).json()
const settings = {
  url: api,
  apiKey: Redacted.make(API_KEY),
  apiVersion: values.version,
  timeout: Duration.seconds(30),
  retries: 0,
  concurrency
}
const layer = PhalaClient.layer(settings).pipe(Layer.provide(Layer.mergeAll(FetchHttpClient.layer, Events.Default)))

const pass = (client) =>
  Effect.gen(function*() {
    const started = performance.now()
    const cpu = process.cpuUsage()
    const results = yield* Effect.forEach(ids, (id) => Effect.either(client.getApp(id)), { concurrency: concurrency * 2 })
    const used = process.cpuUsage(cpu)
    return {
      ms: Math.round(performance.now() - started),
      cpu_us_per_request: Math.round((used.user + used.system) / ids.length),
      errors: results.filter((r) => r._tag === "Left").length
    }
  })

const passes = await Effect.runPromise(Effect.gen(function*() {
  const client = yield* PhalaClient
  const out = []
  for (let i = 0; i < Number(values.passes); i++) out.push(yield* pass(client))
  return out
}).pipe(Effect.provide(layer)))
process.stdout.write(`${JSON.stringify({ apps: ids.length, dist: DIST, passes })}\n`)
