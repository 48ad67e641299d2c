/**
 * Runs a README's shell block as a user would, against a model of a Kubernetes cluster: each command's
 * preconditions are checked in order (the namespace exists before anything is created in it, `create` does not hit
 * an existing object, `apply` does not overwrite an object created by hand, variables are set before use), and at
 * the end the references between the objects are checked (Secret and ConfigMap of the pod, governing Service,
 * probes, ServiceMonitor). `kubectl apply -k` objects come from a real `kubectl kustomize` (the caller's `render`).
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import YAML from "yaml"
import { words } from "./shell-words.js"

export type Obj = Record<string, unknown>

const isObj = (value: unknown): value is Obj => typeof value === "object" && value !== null && !Array.isArray(value)
const obj = (value: unknown): Obj => (isObj(value) ? value : {})
const list = (value: unknown): ReadonlyArray<unknown> => (Array.isArray(value) ? value : [])
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)
const at = (value: unknown, ...path: ReadonlyArray<string | number>): unknown =>
  path.reduce<unknown>((v, key) => (typeof key === "number" ? list(v)[key] : obj(v)[key]), value)

export interface Command {
  readonly line: number
  readonly text: string
  readonly argv: ReadonlyArray<string>
}

/** The first ```sh block after a heading: its commands, continuation lines joined, comments dropped. */
export const shellBlock = (markdown: string, heading: string): ReadonlyArray<Command> => {
  const lines = markdown.split("\n")
  const from = lines.findIndex((l) => l.trim() === heading)
  if (from < 0) throw new Error(`no heading "${heading}"`)
  const open = lines.findIndex((l, i) => i > from && l.trim() === "```sh")
  const close = lines.findIndex((l, i) => i > open && l.trim() === "```")
  if (open < 0 || close < 0) throw new Error(`no sh block under "${heading}"`)
  const commands: Array<Command> = []
  let buffer = ""
  let start = 0
  for (let i = open + 1; i < close; i++) {
    const raw = lines[i] ?? ""
    const line = raw.trim().startsWith("#") ? "" : raw.replace(/(^|\s)#[^'"]*$/, "")
    if (buffer === "" && line.trim() === "") continue
    if (buffer === "") start = i + 1
    if (line.endsWith("\\")) {
      buffer += `${line.slice(0, -1)} `
      continue
    }
    buffer += line
    commands.push({ line: start, text: buffer.trim(), argv: words(buffer) })
    buffer = ""
  }
  return commands
}

const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume", "StorageClass"])
const keyOf = (kind: string, namespace: string | null, name: string) => `${kind}/${namespace ?? "-"}/${name}`

interface Stored {
  readonly object: Obj
  readonly by: "create" | "apply"
  readonly line: number
}

export interface Cluster {
  readonly namespaces: Set<string>
  readonly objects: Map<string, Stored>
}

export interface RecipeOptions {
  /** The repository root, for relative paths in the commands. */
  readonly root: string
  /** `kubectl kustomize DIR` (DIR as written in the command, relative to root). */
  readonly render: (dir: string) => ReadonlyArray<Obj>
}

export interface RecipeResult {
  readonly cluster: Cluster
  readonly problems: ReadonlyArray<string>
  /** Everything `kubectl apply -k` rendered, per command line. */
  readonly rendered: ReadonlyArray<Obj>
}

/** kubectl's flags that take a value, split off the command (`-n NS`, `--namespace=NS`, ...). */
const splitFlags = (argv: ReadonlyArray<string>) => {
  const flags: Record<string, Array<string>> = {}
  const positional: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? ""
    const long = /^--([\w-]+)=(.*)$/s.exec(a)
    if (long !== null) {
      ;(flags[long[1] ?? ""] ??= []).push(long[2] ?? "")
    } else if (/^-(n|f|k|o)$/.test(a) || /^--(namespace|filename|kustomize|output)$/.test(a)) {
      const name = { "-n": "namespace", "-f": "filename", "-k": "kustomize", "-o": "output" }[a] ?? a.slice(2)
      ;(flags[name] ??= []).push(argv[++i] ?? "")
    } else if (a.startsWith("-")) {
      ;(flags[a.replace(/^-+/, "")] ??= []).push("true")
    } else {
      positional.push(a)
    }
  }
  return { flags, positional }
}

export const runRecipe = (commands: ReadonlyArray<Command>, options: RecipeOptions): RecipeResult => {
  const cluster: Cluster = { namespaces: new Set(["default", "kube-system"]), objects: new Map() }
  const problems: Array<string> = []
  const rendered: Array<Obj> = []
  const vars = new Set<string>()

  const store = (object: Obj, namespace: string | null, by: Stored["by"], line: number) => {
    const kind = String(object["kind"])
    const name = String(at(object, "metadata", "name"))
    const ns = CLUSTER_SCOPED.has(kind) ? null : (str(at(object, "metadata", "namespace")) ?? namespace ?? "default")
    const where = `line ${line}: ${kind} ${ns === null ? "" : `${ns}/`}${name}`
    if (ns !== null && !cluster.namespaces.has(ns)) problems.push(`${where}: namespace "${ns}" does not exist yet`)
    const key = keyOf(kind, ns, name)
    const existing = cluster.objects.get(key)
    if (existing !== undefined && by === "create") problems.push(`${where}: already exists (created at line ${existing.line}); kubectl create fails`)
    if (existing !== undefined && by === "apply" && existing.by === "create") {
      problems.push(`${where}: kubectl apply overwrites the object created by hand at line ${existing.line}`)
    }
    cluster.objects.set(key, { object: { ...object, metadata: { ...obj(object["metadata"]), ...(ns === null ? {} : { namespace: ns }) } }, by, line })
    if (kind === "Namespace") cluster.namespaces.add(name)
  }

  for (const command of commands) {
    const [program, ...args] = command.argv
    for (const m of command.text.matchAll(/\$\{?(\w+)/g)) {
      if (!vars.has(m[1] ?? "")) problems.push(`line ${command.line}: $${m[1] ?? ""} is used before it is set`)
    }
    if (program === "read") {
      for (const a of args) if (!a.startsWith("-")) vars.add(a)
      continue
    }
    if (program === "export" || /^\w+=/.test(program ?? "")) {
      for (const a of program === "export" ? args : [program ?? ""]) vars.add(a.split("=")[0] ?? "")
      continue
    }
    if (program !== "kubectl") {
      problems.push(`line ${command.line}: the model does not know "${String(program)}"`)
      continue
    }
    const { flags, positional } = splitFlags(args)
    const namespace = flags["namespace"]?.[0] ?? null
    const [verb, ...rest] = positional
    if (verb === "apply" && flags["filename"] !== undefined) {
      for (const file of flags["filename"]) {
        const docs = YAML.parseAllDocuments(readFileSync(join(options.root, file), "utf8")).map((d) => d.toJS() as unknown)
        for (const doc of docs.filter(isObj)) store(doc, namespace, "apply", command.line)
      }
    } else if (verb === "apply" && flags["kustomize"] !== undefined) {
      for (const dir of flags["kustomize"]) {
        const objects = options.render(dir)
        rendered.push(...objects)
        // kubectl applies in the order kustomize emits (Namespace first), so one apply can create its namespace
        for (const object of objects) store(object, namespace, "apply", command.line)
      }
    } else if (verb === "create" && rest[0] === "namespace" && rest[1] !== undefined) {
      store({ apiVersion: "v1", kind: "Namespace", metadata: { name: rest[1] } }, null, "create", command.line)
    } else if (verb === "create" && rest[0] === "secret" && rest[1] === "generic" && rest[2] !== undefined) {
      const data: Record<string, string> = {}
      for (const literal of flags["from-literal"] ?? []) data[literal.split("=")[0] ?? ""] = "(literal)"
      for (const file of flags["from-file"] ?? []) data[file.includes("=") ? (file.split("=")[0] ?? "") : file] = "(file)"
      if (Object.keys(data).length === 0) problems.push(`line ${command.line}: secret ${rest[2]} without data`)
      if (flags["dry-run"] === undefined) store({ apiVersion: "v1", kind: "Secret", metadata: { name: rest[2] }, type: "Opaque", stringData: data }, namespace, "create", command.line)
    } else if (verb === "rollout" && rest[0] === "status" && rest[1] !== undefined) {
      const [kind = "", name = ""] = rest[1].split("/")
      const kinds: Record<string, string> = { statefulset: "StatefulSet", deployment: "Deployment", daemonset: "DaemonSet" }
      if (!cluster.objects.has(keyOf(kinds[kind.toLowerCase()] ?? kind, namespace ?? "default", name))) {
        problems.push(`line ${command.line}: rollout status of ${rest[1]}, which does not exist in ${namespace ?? "default"}`)
      }
    } else {
      problems.push(`line ${command.line}: the model does not know "kubectl ${String(verb)}"`)
    }
  }
  return { cluster, problems, rendered }
}

export interface KitRules {
  /** Paths the daemon serves without credentials (src/Http/Auth.ts). */
  readonly publicPaths: ReadonlySet<string>
}

/** What must hold once the recipe ran: every reference of the workload resolves, and the probes can pass. */
export const checkCluster = (cluster: Cluster, rules: KitRules): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const all = [...cluster.objects.values()].map((s) => s.object)
  const find = (kind: string, namespace: string, name: string) =>
    cluster.objects.get(keyOf(kind, namespace, name))?.object
  const labelsMatch = (selector: unknown, labels: unknown) =>
    Object.keys(obj(selector)).length > 0 && Object.entries(obj(selector)).every(([k, v]) => obj(labels)[k] === v)

  const workloads = all.filter((o) => o["kind"] === "StatefulSet")
  if (workloads.length === 0) problems.push("no StatefulSet")
  for (const set of workloads) {
    const ns = String(at(set, "metadata", "namespace"))
    const name = String(at(set, "metadata", "name"))
    const pod = obj(at(set, "spec", "template"))
    const podLabels = at(pod, "metadata", "labels")
    if (!labelsMatch(at(set, "spec", "selector", "matchLabels"), podLabels)) problems.push(`StatefulSet ${name}: selector does not match its pod labels`)

    const serviceName = str(at(set, "spec", "serviceName"))
    const service = serviceName === undefined ? undefined : find("Service", ns, serviceName)
    if (service === undefined) {
      problems.push(`StatefulSet ${name}: governing Service "${String(serviceName)}" does not exist`)
    } else {
      if (at(service, "spec", "clusterIP") !== "None") problems.push(`Service ${serviceName}: governs StatefulSet ${name} but is not headless (clusterIP: None)`)
      if (!labelsMatch(at(service, "spec", "selector"), podLabels)) problems.push(`Service ${serviceName}: selector does not match the pods of ${name}`)
    }

    for (const container of list(at(pod, "spec", "containers")).map(obj)) {
      const cname = String(container["name"])
      const portNames = new Set(list(container["ports"]).map((p) => str(obj(p)["name"])))
      for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        const get = at(container, probe, "httpGet")
        if (get === undefined) continue
        const path = String(at(get, "path"))
        if (!rules.publicPaths.has(path)) problems.push(`${cname}: ${probe} on ${path}, which answers 401 when server.auth is set`)
        const port = at(get, "port")
        if (typeof port === "string" && !portNames.has(port)) problems.push(`${cname}: ${probe} on port "${port}", which the container does not name`)
      }
      for (const env of list(container["env"]).map(obj)) {
        const ref = at(env, "valueFrom", "secretKeyRef")
        if (ref === undefined || at(ref, "optional") === true) continue
        const secret = find("Secret", ns, String(at(ref, "name")))
        const data = { ...obj(secret?.["data"]), ...obj(secret?.["stringData"]) }
        if (secret === undefined) problems.push(`${cname}: env ${String(env["name"])} reads Secret ${String(at(ref, "name"))}, which does not exist`)
        else if (!(String(at(ref, "key")) in data)) problems.push(`${cname}: Secret ${String(at(ref, "name"))} has no key ${String(at(ref, "key"))}`)
      }
    }
    for (const volume of list(at(pod, "spec", "volumes")).map(obj)) {
      const map = volume["configMap"]
      if (map === undefined) continue
      const configMap = find("ConfigMap", ns, String(at(map, "name")))
      if (configMap === undefined) problems.push(`volume ${String(volume["name"])}: ConfigMap ${String(at(map, "name"))} does not exist`)
      for (const item of list(at(map, "items")).map(obj)) {
        if (!(String(item["key"]) in obj(configMap?.["data"]))) problems.push(`ConfigMap ${String(at(map, "name"))} has no key ${String(item["key"])}`)
      }
    }
  }

  for (const monitor of all.filter((o) => o["kind"] === "ServiceMonitor")) {
    const ns = String(at(monitor, "metadata", "namespace"))
    const services = all.filter((o) => o["kind"] === "Service" && at(o, "metadata", "namespace") === ns)
    const selected = services.filter((s) => labelsMatch(at(monitor, "spec", "selector", "matchLabels"), at(s, "metadata", "labels")))
    if (selected.length !== 1) problems.push(`ServiceMonitor ${String(at(monitor, "metadata", "name"))} selects ${selected.length} Services`)
    for (const endpoint of list(at(monitor, "spec", "endpoints")).map(obj)) {
      for (const service of selected) {
        const ports = list(at(service, "spec", "ports")).map((p) => obj(p)["name"])
        if (!ports.includes(endpoint["port"])) problems.push(`ServiceMonitor endpoint port ${String(endpoint["port"])} is not a port of its Service`)
      }
    }
  }
  return problems
}
