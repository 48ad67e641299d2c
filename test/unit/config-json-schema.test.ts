// The published JSON Schema of the config (schema/, for editors): generated from the Effect Schema, committed, and
// in agreement with the files the repository ships as examples.
import { Ajv } from "ajv"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import YAML from "yaml"
import { configJsonSchemaText, configSchemaPath } from "../../src/Config/JsonSchema.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const read = (path: string): string => readFileSync(join(ROOT, path), "utf8")

const committed = read(configSchemaPath)
const validator = new Ajv({ allErrors: true, strict: true, validateFormats: false }).compile(JSON.parse(committed))
const errorsOf = (value: unknown): ReadonlyArray<string> =>
  validator(value) ? [] : (validator.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`)

/** Every desired-state example in the repository: standalone files, and the one inside the Kubernetes ConfigMap. */
const exampleFiles = ["config/demo.yaml", "deploy/compose/desired.yaml"]
const configMapExample = (): string => {
  const data: unknown = YAML.parse(read("deploy/kubernetes/configmap.yaml"))?.data
  const text: unknown = typeof data === "object" && data !== null ? Reflect.get(data, "desired.yaml") : undefined
  if (typeof text !== "string") throw new Error("deploy/kubernetes/configmap.yaml has no data.desired.yaml")
  return text
}

describe("the config's JSON Schema", () => {
  it("is committed as `npm run schema` writes it (run it after changing src/Config/FileSchema.ts)", () => {
    expect(committed).toBe(configJsonSchemaText())
  })

  it.each(exampleFiles)("%s names the schema on its first line and validates against it", (path) => {
    const text = read(path)
    const first = text.split("\n")[0] ?? ""
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first)
    expect(match, `first line of ${path}`).not.toBeNull()
    expect(join(ROOT, path, "..", match?.[1] ?? "")).toBe(join(ROOT, configSchemaPath))
    expect(errorsOf(YAML.parse(text))).toEqual([])
  })

  it("the ConfigMap's desired.yaml validates against it", () => {
    expect(errorsOf(YAML.parse(configMapExample()))).toEqual([])
  })

  it.each(["test/fixtures/config/full.yaml", "test/fixtures/config/alerting/desired.yaml"])(
    "so does %s, a valid config that uses every section",
    (path) => expect(errorsOf(YAML.parse(read(path)))).toEqual([])
  )

  it("flags what an editor should: a misspelt key, a wrong type, a bad duration, a missing app_id", () => {
    const demo = YAML.parse(read("config/demo.yaml"))
    expect(errorsOf({ ...demo, pol: { interval: "30s" } })).toContain(" must NOT have additional properties")
    expect(errorsOf({ ...demo, poll: { interval: "thirty seconds" } }).join("\n")).toContain("/poll/interval")
    expect(errorsOf({ ...demo, apps: [{ app_id: "2a7b4d0d0c0883d0d3119c36eb25a1f72122a7c4", replicas: -1 }] }).join("\n"))
      .toContain("/apps/0/replicas")
    expect(errorsOf({ ...demo, apps: [{ name: "x" }] }).join("\n")).toContain("must have required property 'app_id'")
    expect(errorsOf({ ...demo, alerting: { receivers: [{ name: "am", type: "pagerduty", urls: ["http://a"] }] } })).not.toEqual([])
  })
})
