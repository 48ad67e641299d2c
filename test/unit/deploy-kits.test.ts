import { Effect, Either, Logger, LogLevel } from "effect"
import { execFile } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import YAML from "yaml"
import { builtIn } from "../../src/Config/Build.js"
import { parseConfig } from "../../src/Config/Load.js"
import { imageConfig, parseDockerfile } from "../support/dockerfile.js"
import { type ServedRoutes, serveRoutes } from "../support/http-routes.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const DEPLOY = join(ROOT, "deploy")
const read = (...parts: ReadonlyArray<string>): string => readFileSync(join(ROOT, ...parts), "utf8")

type Obj = Record<string, unknown>
const obj = (value: unknown, what: string): Obj => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${what} is not a mapping`)
  return value as Obj
}
const arr = (value: unknown, what: string): ReadonlyArray<unknown> => {
  if (!Array.isArray(value)) throw new Error(`${what} is not a list`)
  return value
}
const at = (value: unknown, ...path: ReadonlyArray<string | number>): unknown =>
  path.reduce<unknown>((v, key) => (typeof key === "number" ? arr(v, String(key))[key] : obj(v, String(key))[key]), value)

const walk = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })

/** Every document of a YAML file; fails on any syntax error or warning. */
const parseAll = (path: string): ReadonlyArray<unknown> => {
  const docs = YAML.parseAllDocuments(readFileSync(path, "utf8"))
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${relative(ROOT, path)}: ${doc.errors.map((e) => e.message).join("; ")}`)
    if (doc.warnings.length > 0) throw new Error(`${relative(ROOT, path)}: ${doc.warnings.map((e) => e.message).join("; ")}`)
  }
  return docs.map((d) => d.toJS() as unknown)
}
const parseOne = (...parts: ReadonlyArray<string>): unknown => {
  const docs = parseAll(join(ROOT, ...parts))
  expect(docs).toHaveLength(1)
  return docs[0]
}

/** The project's own config validation, no network and no secret files. */
const validate = (text: string, file: string) =>
  Effect.runSync(Effect.either(parseConfig(text, file, { PHALA_CLOUD_API_KEY: "x" }, (path) => Effect.fail(`no secret files in this test (${path})`))))
const diagnostics = (result: ReturnType<typeof validate>): string =>
  Either.isLeft(result) ? result.left.diagnostics.map((d) => `${d.line}:${d.column}: ${d.path}: ${d.message}`).join("\n") : ""

const image = imageConfig(parseDockerfile(read("Dockerfile")))
const dockerConfigPath = image.env["PHALA_DRIFT_CONFIG"]
/** What the container runs by default: ENTRYPOINT + CMD. */
const dockerCommand = [...image.entrypoint, ...image.cmd]
const imageStateDir = dockerCommand[dockerCommand.indexOf("--state-dir") + 1]

/** Runs `use` against the daemon's real HTTP server on loopback (test/support/http-routes.ts). */
const withRoutes = <A>(use: (served: ServedRoutes) => Effect.Effect<A, unknown>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(serveRoutes(), use)).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Warning))))

const get = (url: string) => Effect.promise(async () => {
  const response = await fetch(url)
  return { status: response.status, text: await response.text() }
})

/** Exit code of `node -e <script>`, run without blocking this process (the server under test lives in it). */
const nodeScript = (script: string) =>
  Effect.promise(() => new Promise<number | null>((done) => {
    execFile(process.execPath, ["-e", script], { timeout: 30_000 }, (error) => done(error === null ? 0 : typeof error.code === "number" ? error.code : null))
  }))

describe("deploy/ YAML", () => {
  const files = walk(DEPLOY).filter((f) => /\.ya?ml$/.test(f))

  it("finds the kits' files", () => {
    const names = files.map((f) => relative(DEPLOY, f))
    for (const wanted of [
      "docker-compose.yml",
      "compose/prometheus.yml",
      "compose/alertmanager.yml",
      "compose/desired.yaml",
      "kubernetes/kustomization.yaml",
      "kubernetes/statefulset.yaml"
    ]) expect(names).toContain(wanted)
  })

  it.each(files.map((f) => [relative(ROOT, f), f]))("%s parses", (_name, path) => {
    expect(parseAll(path).length).toBeGreaterThan(0)
  })

  it("rejects broken YAML (the parse check can fail)", () => {
    expect(YAML.parseAllDocuments("a: [1, 2\nb: c\n")[0]?.errors.length).toBeGreaterThan(0)
  })
})

describe("docker compose kit", () => {
  const compose = parseOne("deploy", "docker-compose.yml")
  const services = obj(at(compose, "services"), "services")
  const service = (name: string) => obj(services[name], `service ${name}`)
  const drift = service("phala-drift")
  const volumes = (name: string) => arr(service(name)["volumes"] ?? [], `${name} volumes`).map(String)
  /** Host side of a bind mount, resolved against deploy/ (where the compose file is). */
  const hostPath = (mount: string) => resolve(DEPLOY, mount.split(":")[0] ?? "")
  const mountTarget = (name: string, hostSuffix: string) =>
    volumes(name).find((v) => (v.split(":")[0] ?? "").endsWith(hostSuffix))?.split(":")[1]

  it("has the services", () => {
    expect(Object.keys(services).sort()).toEqual(["alertmanager", "grafana", "phala-drift", "prometheus", "simulator"])
  })

  it("builds phala-drift from the repository's Dockerfile", () => {
    expect(at(drift, "build", "context")).toBe("..")
    expect(existsSync(join(DEPLOY, String(at(drift, "build", "context")), String(at(drift, "build", "dockerfile") ?? "Dockerfile")))).toBe(true)
  })

  it("publishes the daemon's default port, which the Prometheus target and desired.yaml use", () => {
    expect(builtIn.port).toBe(9477)
    expect(arr(drift["ports"], "ports").map(String)).toContain(`${builtIn.port}:${builtIn.port}`)
    const prometheus = parseOne("deploy", "compose", "prometheus.yml")
    const job = arr(at(prometheus, "scrape_configs"), "scrape_configs").map((j) => obj(j, "job")).find((j) => j["job_name"] === "phala-drift")
    expect(at(job, "static_configs", 0, "targets")).toEqual([`phala-drift:${builtIn.port}`])
    expect(at(parseOne("deploy", "compose", "desired.yaml"), "server", "listen")).toBe(`0.0.0.0:${builtIn.port}`)
  })

  it("mounts desired.yaml where the image looks for its config, and a volume at the state dir", () => {
    expect(dockerConfigPath).toBe("/etc/phala-drift/desired.yaml")
    expect(mountTarget("phala-drift", "compose/desired.yaml")).toBe(dockerConfigPath)
    expect(imageStateDir).toBe("/var/lib/phala-drift")
    expect(image.volumes).toEqual([imageStateDir])
    expect(volumes("phala-drift")).toContain(`phala-drift-data:${imageStateDir}`)
    expect(Object.keys(obj(at(compose, "volumes"), "volumes"))).toContain("phala-drift-data")
    expect(at(drift, "environment", "PHALA_CLOUD_API_KEY")).toMatch(/^\$\{PHALA_CLOUD_API_KEY/)
  })

  it("checks /healthz the way the Dockerfile does, and that check passes against the daemon's server", async () => {
    const test = arr(at(drift, "healthcheck", "test"), "healthcheck").map(String)
    expect(test.slice(0, 3)).toEqual(["CMD", "node", "-e"])
    expect(test[3]).toContain(`fetch('http://127.0.0.1:${builtIn.port}/healthz')`)
    expect(["CMD", ...(image.healthcheck?.command ?? [])]).toEqual(test)
    // the same script, aimed at a free port instead of the fixed 9477: 0 while the daemon serves, 1 once it is gone
    const aimed = (port: number) => String(test[3]).replace(`:${builtIn.port}/`, `:${port}/`)
    let port = 0
    const up = await withRoutes((served) => {
      port = served.port
      return nodeScript(aimed(port))
    })
    expect(aimed(port)).toContain(`:${port}/healthz`)
    const down = await Effect.runPromise(nodeScript(aimed(port)))
    expect(up).toBe(0)
    expect(down).toBe(1)
  }, 60_000)

  it("runs the simulator from the same image with the demo scenario on 0.0.0.0:8787", () => {
    const sim = service("simulator")
    expect(sim["image"]).toBe(drift["image"])
    // the image's ENTRYPOINT with another command
    expect(sim["entrypoint"]).toBeUndefined()
    expect([...image.entrypoint, ...arr(sim["command"], "command").map(String)]).toEqual(
      ["node", "--max-semi-space-size=16", "dist/main.js", "simulate", "--scenario", "config/scenarios/demo.yaml", "--port", "8787", "--host", "0.0.0.0"]
    )
    expect(existsSync(join(ROOT, "config", "scenarios", "demo.yaml"))).toBe(true)
    expect(at(parseOne("deploy", "compose", "desired.yaml"), "api", "url")).toBe("http://simulator:8787/api/v1")
  })

  it("uses official images for prometheus, alertmanager and grafana", () => {
    expect(service("prometheus")["image"]).toMatch(/^prom\/prometheus:v\d/)
    expect(service("alertmanager")["image"]).toMatch(/^prom\/alertmanager:v\d/)
    expect(service("grafana")["image"]).toMatch(/^grafana\/grafana:\d/)
  })

  it("mounts only files that exist", () => {
    for (const name of Object.keys(services)) {
      for (const mount of volumes(name).filter((v) => v.startsWith("."))) {
        expect(existsSync(hostPath(mount)), `${name}: ${mount}`).toBe(true)
      }
    }
    for (const wanted of [
      "compose/prometheus.yml",
      "prometheus/alerts.yml",
      "compose/alertmanager.yml",
      "grafana/phala-drift.json",
      "compose/grafana/provisioning/datasources",
      "compose/grafana/provisioning/dashboards"
    ]) expect(volumes("prometheus").concat(volumes("alertmanager"), volumes("grafana")).some((v) => v.startsWith(`./${wanted}:`)), wanted).toBe(true)
  })

  it("Prometheus loads alerts.yml (same relative path in the container and the repo) and alerts to alertmanager:9093", () => {
    const prometheus = parseOne("deploy", "compose", "prometheus.yml")
    const ruleFiles = arr(at(prometheus, "rule_files"), "rule_files").map(String)
    expect(ruleFiles).toEqual(["../prometheus/alerts.yml"])
    // in the repo: relative to deploy/compose/
    expect(resolve(DEPLOY, "compose", ruleFiles[0] ?? "")).toBe(join(DEPLOY, "prometheus", "alerts.yml"))
    // in the container: relative to the mounted prometheus.yml
    const configTarget = mountTarget("prometheus", "compose/prometheus.yml") ?? ""
    expect(mountTarget("prometheus", "prometheus/alerts.yml")).toBe(resolve(dirname(configTarget), ruleFiles[0] ?? ""))
    expect(at(prometheus, "alerting", "alertmanagers", 0, "static_configs", 0, "targets")).toEqual(["alertmanager:9093"])
    expect(arr(at(service("prometheus"), "command"), "command")).toContain(`--config.file=${configTarget}`)
  })

  it("Alertmanager gets its config file", () => {
    const target = mountTarget("alertmanager", "compose/alertmanager.yml")
    expect(arr(at(service("alertmanager"), "command"), "command")).toContain(`--config.file=${target}`)
  })

  it("Grafana provisions the Prometheus datasource and the dashboard from the mounted directory", () => {
    const ds = parseOne("deploy", "compose", "grafana", "provisioning", "datasources", "prometheus.yaml")
    expect(at(ds, "datasources", 0, "type")).toBe("prometheus")
    expect(at(ds, "datasources", 0, "url")).toBe("http://prometheus:9090")
    const dashboards = parseOne("deploy", "compose", "grafana", "provisioning", "dashboards", "phala-drift.yaml")
    const dashboardDir = String(at(dashboards, "providers", 0, "options", "path"))
    const dashboardTarget = mountTarget("grafana", "grafana/phala-drift.json") ?? ""
    expect(dirname(dashboardTarget)).toBe(dashboardDir)
    expect(volumes("grafana")).toContain("./compose/grafana/provisioning/datasources:/etc/grafana/provisioning/datasources:ro")
    expect(volumes("grafana")).toContain("./compose/grafana/provisioning/dashboards:/etc/grafana/provisioning/dashboards:ro")
  })

  it("desired.yaml sends built-in alerts to the compose Alertmanager", () => {
    const desired = parseOne("deploy", "compose", "desired.yaml")
    expect(at(desired, "alerting", "receivers", 0)).toEqual({ name: "am", type: "alertmanager", urls: ["http://alertmanager:9093"] })
    expect(at(desired, "alerting", "default_receivers")).toEqual(["am"])
  })

  it("desired.yaml without its alerting block passes the daemon's config validation", () => {
    const doc = YAML.parseDocument(read("deploy", "compose", "desired.yaml"))
    doc.delete("alerting")
    const result = validate(doc.toString(), "deploy/compose/desired.yaml")
    expect(diagnostics(result)).toBe("")
    expect(Either.isRight(result)).toBe(true)
    if (Either.isRight(result)) {
      expect(result.right.apps).toHaveLength(7)
      expect(result.right.server.port).toBe(builtIn.port)
    }
  })

  it("desired.yaml with its alerting block passes the daemon's config validation", () => {
    const result = validate(read("deploy", "compose", "desired.yaml"), "deploy/compose/desired.yaml")
    expect(diagnostics(result)).toBe("")
  })

  it("validation catches a broken desired.yaml (the check can fail)", () => {
    const broken = read("deploy", "compose", "desired.yaml").replace("interval: 15s", "interval: 15 seconds")
    expect(diagnostics(validate(broken, "deploy/compose/desired.yaml"))).toContain("poll.interval")
  })
})

describe("kubernetes kit", () => {
  const K8S = join(DEPLOY, "kubernetes")
  const kustomization = parseOne("deploy", "kubernetes", "kustomization.yaml")
  const resources = arr(at(kustomization, "resources"), "resources").map(String)
  const objects = resources.flatMap((file) => parseAll(join(K8S, file)).map((o) => obj(o, file)))
  const byKind = (kind: string): Obj => {
    const found = objects.filter((o) => o["kind"] === kind)
    expect(found, kind).toHaveLength(1)
    return found[0] as Obj
  }
  const workload = byKind("StatefulSet")
  const pod = obj(at(workload, "spec", "template", "spec"), "pod spec")
  const container = obj(at(pod, "containers", 0), "container")

  it("lists every manifest in kustomization.yaml, and they all exist", () => {
    for (const file of resources) expect(existsSync(join(K8S, file)), file).toBe(true)
    const manifests = readdirSync(K8S).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort()
    expect([...resources].sort()).toEqual(manifests)
    for (const kind of ["Namespace", "ConfigMap", "StatefulSet", "Service", "ServiceMonitor", "PrometheusRule"]) byKind(kind)
    // the API key Secret is created by hand (deploy/README.md): `apply -k` must not overwrite it
    expect(objects.filter((o) => o["kind"] === "Secret")).toEqual([])
    expect(existsSync(join(K8S, "secret.yaml"))).toBe(false)
    expect(at(byKind("ServiceMonitor"), "apiVersion")).toBe("monitoring.coreos.com/v1")
  })

  it("probes /healthz (liveness) and /readyz (readiness) on the named port, both served by the daemon", async () => {
    const liveness = String(at(container, "livenessProbe", "httpGet", "path"))
    const readiness = String(at(container, "readinessProbe", "httpGet", "path"))
    expect([liveness, readiness]).toEqual(["/healthz", "/readyz"])
    expect(at(container, "livenessProbe", "httpGet", "port")).toBe("http-metrics")
    expect(at(container, "readinessProbe", "httpGet", "port")).toBe("http-metrics")
    // a kubelet's httpGet probe passes on 200-399: live at once, ready only after the first cycle
    const answers = await withRoutes(({ base, publish }) =>
      Effect.gen(function*() {
        const before = [(yield* get(base + liveness)).status, (yield* get(base + readiness)).status]
        yield* publish({ generatedAt: new Date(0), apps: [] })
        return { before, after: [(yield* get(base + liveness)).status, (yield* get(base + readiness)).status], missing: (yield* get(`${base}/readyz-not`)).status }
      }))
    expect(answers).toEqual({ before: [200, 503], after: [200, 200], missing: 404 })
  }, 60_000)

  it("exposes port 9477 as http-metrics in the container, the Service and the ServiceMonitor", () => {
    expect(at(container, "ports", 0)).toMatchObject({ name: "http-metrics", containerPort: builtIn.port })
    const service = byKind("Service")
    expect(at(service, "spec", "ports", 0)).toMatchObject({ name: "http-metrics", port: builtIn.port, targetPort: "http-metrics" })
    expect(at(byKind("ServiceMonitor"), "spec", "endpoints", 0, "port")).toBe("http-metrics")
    expect(at(byKind("ServiceMonitor"), "spec", "endpoints", 0, "path")).toBe("/metrics")
    // the ServiceMonitor selects the Service, the Service selects the pod
    const serviceLabels = obj(at(service, "metadata", "labels"), "Service labels")
    for (const [k, v] of Object.entries(obj(at(byKind("ServiceMonitor"), "spec", "selector", "matchLabels"), "matchLabels"))) {
      expect(serviceLabels[k]).toBe(v)
    }
    const podLabels = obj(at(workload, "spec", "template", "metadata", "labels"), "pod labels")
    for (const [k, v] of Object.entries(obj(at(service, "spec", "selector"), "selector"))) expect(podLabels[k]).toBe(v)
    // job="phala-drift" (the Service name) is what alerts.yml's PhalaDriftDown expects
    expect(at(service, "metadata", "name")).toBe("phala-drift")
    expect(read("deploy", "prometheus", "alerts.yml")).toContain(`up{job="phala-drift"}`)
  })

  it("runs non-root with a read-only root filesystem, no privilege escalation, no capabilities, seccomp RuntimeDefault", () => {
    expect(at(pod, "securityContext")).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } })
    expect(at(container, "securityContext")).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" }
    })
    expect(pod["automountServiceAccountToken"]).toBe(false)
  })

  it("runs the image's ENTRYPOINT and CMD with the state dir on the PVC and /tmp writable", () => {
    expect(image.entrypoint).toEqual(["node", "--max-semi-space-size=16", "dist/main.js"])
    const command = [...arr(container["command"] ?? image.entrypoint, "command"), ...arr(container["args"] ?? image.cmd, "args")].map(String)
    expect(command).toEqual(dockerCommand)
    const stateDir = command[command.indexOf("--state-dir") + 1]
    const mounts = arr(container["volumeMounts"], "volumeMounts").map((m) => obj(m, "mount"))
    const dataMount = mounts.find((m) => m["mountPath"] === stateDir)
    expect(dataMount?.["name"]).toBe("data")
    expect(at(workload, "spec", "volumeClaimTemplates", 0, "metadata", "name")).toBe("data")
    expect(mounts.find((m) => m["mountPath"] === "/tmp")?.["name"]).toBe("tmp")
    const volumes = arr(pod["volumes"], "volumes").map((v) => obj(v, "volume"))
    expect(volumes.find((v) => v["name"] === "tmp")?.["emptyDir"]).toBeDefined()
  })

  it("mounts the ConfigMap's desired.yaml at the image's PHALA_DRIFT_CONFIG and takes the key from the README's Secret", () => {
    const env = arr(container["env"], "env").map((e) => obj(e, "env"))
    const configEnv = env.find((e) => e["name"] === "PHALA_DRIFT_CONFIG")?.["value"]
    expect(configEnv).toBe(dockerConfigPath)
    const mounts = arr(container["volumeMounts"], "volumeMounts").map((m) => obj(m, "mount"))
    const configMount = mounts.find((m) => m["name"] === "config")
    const volume = arr(pod["volumes"], "volumes").map((v) => obj(v, "volume")).find((v) => v["name"] === "config")
    const item = at(volume, "configMap", "items", 0)
    expect(join(String(configMount?.["mountPath"]), String(at(item, "path")))).toBe(dockerConfigPath)
    const configMap = byKind("ConfigMap")
    expect(at(volume, "configMap", "name")).toBe(at(configMap, "metadata", "name"))
    expect(Object.keys(obj(configMap["data"], "data"))).toContain(String(at(item, "key")))

    // the Secret deploy/README.md creates
    const keyRef = at(env.find((e) => e["name"] === "PHALA_CLOUD_API_KEY"), "valueFrom", "secretKeyRef")
    expect(at(keyRef, "name")).toBe("phala-drift-api-key")
    expect(read("deploy", "README.md")).toContain(
      `create secret generic ${String(at(keyRef, "name"))} --from-literal=${String(at(keyRef, "key"))}=`
    )
  })

  it("the ConfigMap's desired.yaml passes the daemon's config validation", () => {
    const text = String(at(byKind("ConfigMap"), "data", "desired.yaml"))
    const result = validate(text, "/etc/phala-drift/desired.yaml")
    expect(diagnostics(result)).toBe("")
    if (Either.isRight(result)) {
      expect(result.right.server.port).toBe(builtIn.port)
      expect(result.right.stateDir).toBe("/var/lib/phala-drift")
    }
  })

  it("sets resource requests and limits (sized from measurement), limits above requests", () => {
    const resources = obj(container["resources"], "resources")
    const memory = (s: unknown) => {
      const m = String(s).match(/^(\d+)(Mi|Gi)$/)
      if (m === null) throw new Error(`memory ${String(s)}`)
      return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1)
    }
    const cpu = (s: unknown) => {
      const m = String(s).match(/^(\d+)(m?)$/)
      if (m === null) throw new Error(`cpu ${String(s)}`)
      return Number(m[1]) / (m[2] === "m" ? 1000 : 1)
    }
    expect(memory(at(resources, "limits", "memory"))).toBeGreaterThan(memory(at(resources, "requests", "memory")))
    expect(cpu(at(resources, "limits", "cpu"))).toBeGreaterThan(cpu(at(resources, "requests", "cpu")))
    expect(read("deploy", "kubernetes", "statefulset.yaml")).toMatch(/measured/i)
  })

  it("the PrometheusRule holds exactly the rules of deploy/prometheus/alerts.yml", () => {
    const alerts = parseOne("deploy", "prometheus", "alerts.yml")
    expect(at(byKind("PrometheusRule"), "spec", "groups")).toEqual(at(alerts, "groups"))
    expect(arr(at(alerts, "groups"), "groups").length).toBeGreaterThan(0)
  })
})
