import { Either } from "effect"
import type { ConfigPath, Problem } from "./Diagnostics.js"
import { problem } from "./Diagnostics.js"
import type { SourceDocument } from "./Document.js"
import { lineOf } from "../Support/YamlSource.js"
import { echo, truncate } from "../Core/Echo.js"
import { normaliseAppId } from "../Core/Domain/AppId.js"
import { isLabelName, isReceiverName } from "./Fields.js"

/** Checks that need the whole tree or key positions; they run on the interpolated tree, even if decoding failed. */

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const field = (u: unknown, key: string): unknown => (isRecord(u) ? u[key] : undefined)

/** Labels phala-drift sets itself on alerts and series. */
export const reservedLabels: ReadonlyArray<string> = ["alertname", "severity", "app_id", "app_name", "vm_uuid", "cvm_name"]

export const labelNameProblem = (name: string): string | null =>
  !isLabelName(name)
    ? `invalid label name ${echo(name)} (use letters, digits and _, not starting with a digit)`
    : name.startsWith("__")
    ? `label name ${echo(name)} is reserved (names starting with __ are for internal use)`
    : reservedLabels.includes(name)
    ? `label name "${name}" is reserved (phala-drift sets it)`
    : null

const labelProblems = (labels: unknown, path: ConfigPath): ReadonlyArray<Problem> =>
  isRecord(labels)
    ? Object.keys(labels).flatMap((name) => {
      const message = labelNameProblem(name)
      return message === null ? [] : [problem([...path, name], message, "key")]
    })
    : []

export const checkLabels = (root: unknown): ReadonlyArray<Problem> => {
  const apps = field(root, "apps")
  return [
    ...labelProblems(field(field(root, "defaults"), "labels"), ["defaults", "labels"]),
    ...(Array.isArray(apps) ? apps.flatMap((app: unknown, i) => labelProblems(field(app, "labels"), ["apps", i, "labels"])) : [])
  ]
}

export const checkDuplicateApps = (root: unknown, source: SourceDocument): ReadonlyArray<Problem> => {
  const apps = field(root, "apps")
  if (!Array.isArray(apps)) return []
  const first = new Map<string, number>()
  const problems: Array<Problem> = []
  apps.forEach((app: unknown, i) => {
    const id = normaliseAppId(field(app, "app_id"))
    if (Either.isLeft(id)) return
    const earlier = first.get(id.right)
    if (earlier === undefined) {
      first.set(id.right, i)
      return
    }
    const line = lineOf(source, ["apps", earlier, "app_id"])
    problems.push(problem(
      ["apps", i, "app_id"],
      `duplicate app_id ${id.right} (first declared at apps[${earlier}]${line === null ? "" : `, line ${line}`})`
    ))
  })
  return problems
}

export const noApiKeyMessage =
  "no API key: set api.api_key (e.g. \"${PHALA_CLOUD_API_KEY}\"), api.api_key_file, or the PHALA_CLOUD_API_KEY environment variable"

export const apiKeyEnv = (env: Readonly<Record<string, string | undefined>>): string | null => {
  const key = env["PHALA_CLOUD_API_KEY"]
  return key === undefined || key === "" ? null : key
}

/** Reported even when decoding failed, so a first run shows every missing piece at once. */
export const checkApiKeyPresent = (
  root: unknown,
  env: Readonly<Record<string, string | undefined>>
): ReadonlyArray<Problem> => {
  const api = field(root, "api")
  const declared = field(api, "api_key") !== undefined || field(api, "api_key_file") !== undefined
  return declared || apiKeyEnv(env) !== null ? [] : [problem(isRecord(api) ? ["api"] : [], noApiKeyMessage)]
}

/**
 * Receiver names are unique, and every name in `default_receivers` and in a route exists; `default_receivers` is
 * required once there are receivers, else alerts without a matching route would go nowhere.
 */
export const checkReceivers = (root: unknown, source: SourceDocument): ReadonlyArray<Problem> => {
  const alerting = field(root, "alerting")
  if (!isRecord(alerting)) return []
  const receivers = field(alerting, "receivers")
  const list: ReadonlyArray<unknown> = Array.isArray(receivers) ? receivers : []
  const problems: Array<Problem> = []
  const first = new Map<string, number>()
  list.forEach((receiver, i) => {
    const name = field(receiver, "name")
    if (typeof name !== "string") return
    const earlier = first.get(name)
    if (earlier === undefined) {
      first.set(name, i)
      return
    }
    const line = lineOf(source, ["alerting", "receivers", earlier, "name"])
    problems.push(problem(
      ["alerting", "receivers", i, "name"],
      `duplicate receiver name ${echo(name)} (first declared at alerting.receivers[${earlier}]${line === null ? "" : `, line ${line}`})`
    ))
  })
  // listed once, and only the first few: a file may declare thousands
  const names = [...first.keys()]
  const known = names.length === 0
    ? ""
    : ` (receivers: ${names.slice(0, 10).map(truncate).join(", ")}${names.length > 10 ? `, … ${names.length - 10} more` : ""})`
  const references = (list: unknown, path: ConfigPath): ReadonlyArray<Problem> =>
    Array.isArray(list)
      ? list.flatMap((name: unknown, i) =>
        !isReceiverName(name) || first.has(name)
          ? []
          : [problem([...path, i], `no receiver named ${echo(name)}${known}`)]
      )
      : []
  const defaults = field(alerting, "default_receivers")
  if (list.length > 0 && (defaults === undefined || defaults === null || (Array.isArray(defaults) && defaults.length === 0))) {
    problems.push(problem(
      defaults === undefined ? ["alerting"] : ["alerting", "default_receivers"],
      "default_receivers must name at least one receiver (alerts that match no route go there)"
    ))
  }
  problems.push(...references(defaults, ["alerting", "default_receivers"]))
  const routes = field(alerting, "routes")
  if (Array.isArray(routes)) {
    routes.forEach((route: unknown, i) => {
      problems.push(...references(field(route, "receivers"), ["alerting", "routes", i, "receivers"]))
      const match = field(route, "match")
      if (isRecord(match)) {
        for (const name of Object.keys(match)) {
          if (!isLabelName(name)) {
            problems.push(problem(["alerting", "routes", i, "match", name], `invalid label name ${echo(name)}`, "key"))
          }
        }
      }
    })
  }
  return problems
}
