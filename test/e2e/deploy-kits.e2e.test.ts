import { spawnSync } from "node:child_process"
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import YAML from "yaml"
import { publicPaths } from "../../src/Http/Auth.js"
import { debianKubectl } from "../support/kubectl.js"
import { checkCluster, type Obj, runRecipe, shellBlock } from "../support/kubernetes-recipe.js"
import { schemaProblems } from "../support/kubernetes-schemas.js"
import { ROOT, tempDir } from "./support/harness.js"

// The Debian packages `prometheus` and `prometheus-alertmanager` ship promtool and amtool.
const run = (tool: string, args: ReadonlyArray<string>, cwd = ROOT) => {
  const r = spawnSync(tool, args, { cwd, encoding: "utf8", timeout: 30_000 })
  return { status: r.status, stdout: r.stdout ?? "", output: `${r.stdout ?? ""}${r.stderr ?? ""}`, error: r.error }
}

/** deploy/compose and deploy/prometheus copied with the same relative layout, so the rule file path resolves. */
const copyLayout = (): string => {
  const dir = tempDir("phala-drift-deploy-")
  cpSync(join(ROOT, "deploy", "compose"), join(dir, "compose"), { recursive: true })
  cpSync(join(ROOT, "deploy", "prometheus"), join(dir, "prometheus"), { recursive: true })
  return dir
}

describe("compose kit with the real tools", () => {
  it("promtool check config accepts prometheus.yml and loads the rule file it names", () => {
    const r = run("promtool", ["check", "config", "deploy/compose/prometheus.yml"])
    expect(r.error).toBeUndefined()
    expect(r.output).toContain("SUCCESS")
    expect(r.status, r.output).toBe(0)
    // promtool really read the rules of alerts.yml
    expect(r.output).toMatch(/prometheus\/alerts\.yml[\s\S]*SUCCESS: \d+ rules found/)
  })

  it("promtool fails when the rule file does not resolve (the check can fail)", () => {
    const dir = copyLayout()
    const config = join(dir, "compose", "prometheus.yml")
    writeFileSync(config, readFileSync(config, "utf8").replace("../prometheus/alerts.yml", "../prometheus/missing.yml"))
    const r = run("promtool", ["check", "config", config])
    expect(r.status).not.toBe(0)
  })

  it("promtool checks the same layout from a copy, and rejects a broken rule", () => {
    const dir = copyLayout()
    const config = join(dir, "compose", "prometheus.yml")
    expect(run("promtool", ["check", "config", config]).status).toBe(0)
    const rules = join(dir, "prometheus", "alerts.yml")
    writeFileSync(rules, readFileSync(rules, "utf8").replace("phala_app_up == 0", "phala_app_up == == 0"))
    expect(run("promtool", ["check", "config", config]).status).not.toBe(0)
  })

  it("amtool check-config accepts alertmanager.yml", () => {
    const r = run("amtool", ["check-config", "deploy/compose/alertmanager.yml"])
    expect(r.error).toBeUndefined()
    expect(r.status, r.output).toBe(0)
    expect(r.output).toContain("SUCCESS")
  })

  it("amtool rejects a route to an unknown receiver (the check can fail)", () => {
    const dir = tempDir("phala-drift-am-")
    const config = join(dir, "alertmanager.yml")
    writeFileSync(config, readFileSync(join(ROOT, "deploy", "compose", "alertmanager.yml"), "utf8").replace("receiver: discard", "receiver: nobody"))
    expect(run("amtool", ["check-config", config]).status).not.toBe(0)
  })

  it("Alertmanager routes the Prometheus copies of drift alerts away from people, and keeps the daemon's own health alerts", () => {
    const config = join(ROOT, "deploy", "compose", "alertmanager.yml")
    const route = (labels: ReadonlyArray<string>) => {
      const r = run("amtool", ["config", "routes", "test", `--config.file=${config}`, ...labels])
      expect(r.status, r.output).toBe(0)
      // stdout holds the receiver; stderr a warning about --config.file
      return r.stdout.trim()
    }
    expect(route(["alertname=PhalaCvmStatusDrift", "severity=warning"])).toBe("people")
    expect(route(["alertname=PhalaCvmStatusDrift", "source=prometheus"])).toBe("discard")
    expect(route(["alertname=PhalaDriftDown", "source=prometheus"])).toBe("people")
  })

  it("the PrometheusRule of the kubernetes kit passes promtool check rules", () => {
    const rule = YAML.parse(readFileSync(join(ROOT, "deploy", "kubernetes", "prometheusrule.yaml"), "utf8")) as { spec: { groups: unknown } }
    const dir = tempDir("phala-drift-rule-")
    mkdirSync(dir, { recursive: true })
    const file = join(dir, "rules.yml")
    writeFileSync(file, YAML.stringify({ groups: rule.spec.groups }))
    const r = run("promtool", ["check", "rules", file])
    expect(r.status, r.output).toBe(0)
    expect(r.output).toMatch(/SUCCESS: 11 rules found/)
  })
})

describe("kubernetes kit as a user runs it (deploy/README.md, rendered by Debian's kubectl)", () => {
  const kubectl = debianKubectl()
  const readme = readFileSync(join(ROOT, "deploy", "README.md"), "utf8")
  const commands = shellBlock(readme, "## Kubernetes")
  /** `kubectl kustomize DIR`, DIR relative to the repository root, or from `dirs` when given (a modified copy). */
  const renderer = (dirs: Record<string, string> = {}) => (dir: string): ReadonlyArray<Obj> => {
    const r = run(kubectl, ["kustomize", dirs[dir] ?? join(ROOT, dir)])
    if (r.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${r.output}`)
    return YAML.parseAllDocuments(r.stdout).map((d) => d.toJS() as unknown).filter((o): o is Obj => typeof o === "object" && o !== null)
  }
  const recipe = (cmds = commands, dirs: Record<string, string> = {}) => {
    const result = runRecipe(cmds, { root: ROOT, render: renderer(dirs) })
    return { ...result, all: [...result.problems, ...checkCluster(result.cluster, { publicPaths })] }
  }
  /** deploy/kubernetes copied, with one file changed, for the checks that must be able to fail. */
  const kitWith = (file: string, change: (text: string) => string) => {
    const dir = join(tempDir("phala-drift-k8s-"), "kubernetes")
    cpSync(join(ROOT, "deploy", "kubernetes"), dir, { recursive: true })
    writeFileSync(join(dir, file), change(readFileSync(join(dir, file), "utf8")))
    return { "deploy/kubernetes": dir }
  }

  it("uses Debian's kubectl (kubernetes-client), whatever else is on the PATH", () => {
    const r = run(kubectl, ["version", "--client"])
    expect(r.status, r.output).toBe(0)
    expect(r.output).toMatch(/v1\.20\./)
  })

  it("the README's commands succeed in order and leave a workload whose references all resolve", () => {
    expect(commands.map((c) => c.argv.slice(0, 3).join(" "))).toEqual([
      "kubectl apply -f",
      "read -rs PHALA_CLOUD_API_KEY",
      "kubectl -n phala-drift",
      "kubectl apply -k",
      "kubectl -n phala-drift"
    ])
    const result = recipe()
    expect(result.all).toEqual([])
    expect(result.cluster.namespaces).toContain("phala-drift")
    expect([...result.cluster.objects.keys()]).toContain("Secret/phala-drift/phala-drift-api-key")
  })

  it("kustomize does not manage the API key Secret, so apply -k cannot overwrite the real key", () => {
    const rendered = recipe().rendered
    expect(rendered.filter((o) => o["kind"] === "Secret")).toEqual([])
    const broken = recipe(commands, kitWith("kustomization.yaml", (t) => `${t}secretGenerator:\n  - name: phala-drift-api-key\n    literals: [PHALA_CLOUD_API_KEY=phak_REPLACE_ME]\ngeneratorOptions:\n  disableNameSuffixHash: true\n`))
    expect(broken.all.join("\n")).toMatch(/Secret phala-drift\/phala-drift-api-key: kubectl apply overwrites the object created by hand/)
  })

  it("the checks catch a secret created before its namespace, a Service that is not headless and a probe behind auth", () => {
    const [namespace, read, secret, ...rest] = commands
    expect(recipe([read, secret, namespace, ...rest].filter((c) => c !== undefined)).all.join("\n")).toMatch(/namespace "phala-drift" does not exist yet/)
    expect(recipe([namespace, secret, read, ...rest].filter((c) => c !== undefined)).all.join("\n")).toMatch(/PHALA_CLOUD_API_KEY is used before it is set/)
    expect(recipe(commands, kitWith("service.yaml", (t) => t.replace("clusterIP: None", "type: ClusterIP"))).all.join("\n")).toMatch(/not headless/)
    expect(recipe(commands, kitWith("statefulset.yaml", (t) => t.replace("path: /readyz", "path: /api/v1/plan"))).all.join("\n")).toMatch(/readinessProbe on \/api\/v1\/plan, which answers 401/)
    expect(recipe(commands.filter((c) => c !== secret)).all.join("\n")).toMatch(/reads Secret phala-drift-api-key, which does not exist/)
  })

  it("every rendered object is valid against the Kubernetes and Prometheus Operator schemas", () => {
    const rendered = recipe().rendered
    expect(rendered.map((o) => o["kind"]).sort()).toEqual(["ConfigMap", "Namespace", "PrometheusRule", "Service", "ServiceMonitor", "StatefulSet"])
    expect(rendered.flatMap(schemaProblems)).toEqual([])
    // the schemas can fail
    const set = rendered.find((o) => o["kind"] === "StatefulSet") ?? {}
    expect(schemaProblems({ ...set, spec: { ...(set["spec"] as object), replicas: "one" } }).join()).toMatch(/replicas must be integer/)
    expect(schemaProblems({ apiVersion: "v1", kind: "Pod", metadata: { name: "x" } }).join()).toMatch(/no schema/)
  })

  it("puts every object in the namespace and the image set by kustomization.yaml's images", () => {
    const rendered = recipe().rendered
    for (const o of rendered.filter((x) => x["kind"] !== "Namespace")) expect((o["metadata"] as Obj)["namespace"], String(o["kind"])).toBe("phala-drift")
    const kustomization = YAML.parse(readFileSync(join(ROOT, "deploy", "kubernetes", "kustomization.yaml"), "utf8")) as { images: Array<{ newName: string; newTag: string }> }
    const set = rendered.find((o) => o["kind"] === "StatefulSet")
    const image = ((set?.["spec"] as Obj)["template"] as { spec: { containers: Array<{ image: string }> } }).spec.containers[0]?.image
    expect(image).toBe(`${kustomization.images[0]?.newName}:${kustomization.images[0]?.newTag}`)
  })
})
