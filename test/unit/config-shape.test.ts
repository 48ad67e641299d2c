// What the loader knows about each key comes from the schema's annotations (src/Config/Shape.ts): these tests pin
// that knowledge to the behaviour it drives, so that a key added to FileSchema.ts gets it without another list.
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { alertingFields, apiFields, configShape, webhookFields } from "../../src/Config/FileSchema.js"
import { parseConfig } from "../../src/Config/Load.js"
import { mappingFor, secretPaths, shapeAt } from "../../src/Config/Shape.js"

const APP = "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4"
const load = (text: string) =>
  Effect.runSync(Effect.either(parseConfig(text, "desired.yaml", {}, (path) => Effect.fail(`no secret files here (${path})`))))

describe("config shape, from the schema", () => {
  it("knows the keys of every mapping, a receiver's by its type", () => {
    const keys = (path: ReadonlyArray<string | number>, node?: unknown) => {
      const shape = shapeAt(configShape, path)
      const mapping = shape === undefined ? null : mappingFor(shape, node ?? {})
      return mapping === null ? null : [...mapping.keys.keys()]
    }
    expect(keys(["api"])).toEqual(Object.keys(apiFields))
    expect(keys(["alerting"])).toEqual(Object.keys(alertingFields))
    expect(keys(["alerting", "receivers", 0], { type: "webhook" })).toEqual(Object.keys(webhookFields))
    expect(keys(["alerting", "receivers", 0], { type: "carrier-pigeon" })).toBeNull()
    expect(keys(["apps", 3, "cvm"])).toContain("memory_mb")
    expect(keys(["apps", 3, "replicas"])).toEqual(["min", "max"])
    expect(keys(["apps", 3, "labels"])).toBeNull()
  })

  it("finds every secret in a tree, wherever it is", () => {
    const root = {
      api: { api_key: "k", api_version: "2025-10-28" },
      server: { auth: { basic: { username: "u", password: "p" } } },
      alerting: {
        receivers: [
          { name: "am", type: "alertmanager", urls: ["http://am:9093"] },
          { name: "hook", type: "webhook", url: "https://h/x", bearer_token: "t", hmac_secret: "s" },
          { name: "chat", type: "slack", webhook_url: "https://hooks.slack.com/x" }
        ]
      },
      apps: [{ app_id: APP, labels: { team: "payments" } }]
    }
    expect(secretPaths(configShape, root)).toEqual([
      ["api", "api_key"],
      ["server", "auth", "basic", "password"],
      ["alerting", "receivers", 1, "url"],
      ["alerting", "receivers", 1, "bearer_token"],
      ["alerting", "receivers", 1, "hmac_secret"],
      ["alerting", "receivers", 2, "webhook_url"]
    ])
  })

  it("keeps ids, names, paths, label values and secrets as written, and numbers as numbers", () => {
    const result = load([
      "version: 1",
      "api: { api_key: 123456789012, api_version: 2025-10-28, retries: 2 }",
      "state_dir: 2024",
      "apps:",
      `  - app_id: ${APP}`,
      "    name: 1234",
      "    labels: { build: 42, canary: true }",
      "    cvm: { region: 7, vcpu: 4 }"
    ].join("\n"))
    expect(Either.isRight(result)).toBe(true)
    if (Either.isLeft(result)) return
    const config = result.right
    expect(config.stateDir).toBe("2024")
    expect(config.api.retries).toBe(2)
    expect(config.api.apiVersion).toBe("2025-10-28")
    expect(config.apps[0]).toMatchObject({ name: "1234", labels: { build: "42", canary: "true" }, cvm: { region: "7", vcpu: 4 } })
  })

  it("masks a secret in any diagnostic that quotes it, in any letter case (the loader's backstop)", () => {
    const result = load(["version: 1", "api: { api_key: hunter2pass }", "apps:", `  - app_id: ${APP}`, "    status: HUNTER2PASS"].join("\n"))
    const diagnostics = Either.isLeft(result) ? result.left.diagnostics.map((d) => `${d.path}: ${d.message}`) : []
    expect(diagnostics).toEqual(["apps[0].status: must be one of running, stopped, got \"<redacted>\""])
  })
})
