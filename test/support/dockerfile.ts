/**
 * A small Dockerfile interpreter for machines without a Docker engine: it parses the repository's Dockerfile and
 * executes its stages in directories standing in for the image's root file system (COPY copies, RUN runs the
 * command with `sh`, absolute paths mapped into that root), then runs the image's ENTRYPOINT + CMD and HEALTHCHECK
 * from the result. What it cannot reproduce is recorded instead: the base image (the host's Node runs everything)
 * and file ownership (`chown` is captured, not applied).
 */
import { spawn } from "node:child_process"
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, isAbsolute, join, posix } from "node:path"
import { words } from "./shell-words.js"

export interface Instruction {
  readonly keyword: string
  readonly args: string
  readonly line: number
}

/** Instructions of a Dockerfile: comments dropped, continuation lines joined (comments inside them too). */
export const parseInstructions = (text: string): ReadonlyArray<Instruction> => {
  const out: Array<Instruction> = []
  let buffer = ""
  let start = 0
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "")
    if (/^\s*#/.test(line) || (buffer === "" && line.trim() === "")) return
    if (buffer === "") start = i + 1
    if (line.endsWith("\\")) {
      buffer += `${line.slice(0, -1)} `
      return
    }
    buffer += line
    const match = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buffer)
    if (match === null) throw new Error(`Dockerfile:${start}: cannot parse "${buffer}"`)
    out.push({ keyword: (match[1] ?? "").toUpperCase(), args: (match[2] ?? "").trim(), line: start })
    buffer = ""
  })
  if (buffer !== "") throw new Error(`Dockerfile:${start}: unterminated continuation`)
  return out
}

const keyValues = (text: string): ReadonlyArray<readonly [string, string]> =>
  words(text).map((w) => {
    const eq = w.indexOf("=")
    if (eq <= 0) throw new Error(`expected key=value, got "${w}"`)
    return [w.slice(0, eq), w.slice(eq + 1)] as const
  })

const jsonArray = (text: string, what: string): ReadonlyArray<string> => {
  const value: unknown = JSON.parse(text)
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw new Error(`${what} is not a JSON string array`)
  return value
}

const substitute = (text: string, vars: Record<string, string>): string =>
  text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string | undefined, b: string | undefined) => vars[a ?? b ?? ""] ?? "")

export interface HealthCheck {
  readonly options: Record<string, string>
  readonly command: ReadonlyArray<string>
}

export interface Stage {
  readonly name: string
  readonly from: string
  readonly instructions: ReadonlyArray<Instruction>
}

export interface Dockerfile {
  readonly globalArgs: Record<string, string>
  readonly stages: ReadonlyArray<Stage>
}

export const parseDockerfile = (text: string): Dockerfile => {
  const globalArgs: Record<string, string> = {}
  const stages: Array<{ name: string; from: string; instructions: Array<Instruction> }> = []
  for (const ins of parseInstructions(text)) {
    if (ins.keyword === "FROM") {
      const [image = "", as, name] = words(substitute(ins.args, globalArgs))
      stages.push({ name: as?.toUpperCase() === "AS" && name !== undefined ? name : String(stages.length), from: image, instructions: [] })
    } else if (stages.length === 0) {
      if (ins.keyword !== "ARG") throw new Error(`Dockerfile:${ins.line}: ${ins.keyword} before FROM`)
      const [key = "", value = ""] = ins.args.split(/=(.*)/s)
      globalArgs[key] = value
    } else {
      stages[stages.length - 1]?.instructions.push(ins)
    }
  }
  return { globalArgs, stages }
}

/** What `docker inspect` would show of a stage. */
export interface ImageConfig {
  readonly from: string
  readonly args: Record<string, string>
  readonly env: Record<string, string>
  readonly labels: Record<string, string>
  readonly workdir: string
  readonly user: string | null
  readonly exposed: ReadonlyArray<string>
  readonly volumes: ReadonlyArray<string>
  readonly entrypoint: ReadonlyArray<string>
  readonly cmd: ReadonlyArray<string>
  readonly healthcheck: HealthCheck | null
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * Applies one instruction's effect on the image configuration; returns the instruction (with variables
 * substituted) when it changes files instead (COPY, RUN), for the caller to execute.
 */
const applyConfig = (
  config: Mutable<ImageConfig>,
  ins: Instruction,
  dockerfile: Dockerfile,
  buildArgs: Record<string, string>
): { readonly keyword: "COPY" | "RUN"; readonly text: string } | null => {
  const text = ins.keyword === "RUN" ? ins.args : substitute(ins.args, { ...config.args, ...config.env })
  const json = (what: string) => jsonArray(text, `Dockerfile:${ins.line}: ${what}`)
  switch (ins.keyword) {
    case "ARG": {
      const [key = "", value] = ins.args.split(/=(.*)/s)
      config.args[key] = buildArgs[key] ?? value ?? dockerfile.globalArgs[key] ?? ""
      return null
    }
    case "ENV":
      for (const [k, v] of keyValues(text)) config.env[k] = v
      return null
    case "LABEL":
      for (const [k, v] of keyValues(text)) config.labels[k] = v
      return null
    case "WORKDIR":
      config.workdir = posix.resolve(config.workdir, text)
      return null
    case "USER":
      config.user = text
      return null
    case "EXPOSE":
      config.exposed = [...config.exposed, ...words(text)]
      return null
    case "VOLUME":
      config.volumes = [...config.volumes, ...(text.startsWith("[") ? json("VOLUME") : words(text))]
      return null
    case "ENTRYPOINT":
      config.entrypoint = json("ENTRYPOINT")
      return null
    case "CMD":
      config.cmd = json("CMD")
      return null
    case "HEALTHCHECK": {
      const at = text.indexOf(" CMD ")
      if (at < 0) throw new Error(`Dockerfile:${ins.line}: HEALTHCHECK without CMD`)
      const options = Object.fromEntries(words(text.slice(0, at)).map((w) => w.replace(/^--/, "").split("=") as [string, string]))
      config.healthcheck = { options, command: jsonArray(text.slice(at + 5).trim(), "HEALTHCHECK CMD") }
      return null
    }
    case "COPY":
    case "RUN":
      return { keyword: ins.keyword, text }
    default:
      throw new Error(`Dockerfile:${ins.line}: ${ins.keyword} is not supported by this interpreter`)
  }
}

const emptyConfig = (from: string): Mutable<ImageConfig> => ({
  from, args: {}, env: {}, labels: {}, workdir: "/", user: null, exposed: [], volumes: [], entrypoint: [], cmd: [], healthcheck: null
})

/** The final stage's configuration, without executing anything. */
export const imageConfig = (dockerfile: Dockerfile, buildArgs: Record<string, string> = {}): ImageConfig => {
  const stage = dockerfile.stages[dockerfile.stages.length - 1]
  if (stage === undefined) throw new Error("Dockerfile has no stage")
  const config = emptyConfig(stage.from)
  for (const ins of stage.instructions) applyConfig(config, ins, dockerfile, buildArgs)
  return config
}

export interface BuiltImage {
  readonly config: ImageConfig
  /** The directory standing in for the final image's `/`. */
  readonly root: string
  /** `chown` calls of RUN steps, one argument list each (ownership is not applied on the host). */
  readonly chowns: ReadonlyArray<ReadonlyArray<string>>
  /** Output of every RUN step, by stage. */
  readonly runLog: ReadonlyArray<{ readonly stage: string; readonly command: string; readonly output: string }>
}

/** Maps absolute image paths in a RUN command or an argument into the directory standing in for `/`. */
const rootPath = (root: string, path: string): string => (isAbsolute(path) ? join(root, path) : path)
const mapCommandPaths = (root: string, command: string): string =>
  command.replace(/(^|[\s=])(\/[\w.@+-][\w./@+-]*)/g, (_m, pre: string, path: string) => `${pre}${join(root, path)}`)

/**
 * A build step sees the image's ENV and ARGs, not the caller's environment (a test runner's NODE_ENV=test would
 * change what `npm ci` installs); only what reaches the npm registry (npm config, proxies) passes through.
 */
const buildEnv = (): Record<string, string> =>
  Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] =>
      e[1] !== undefined && /^(HOME|LANG|TMPDIR|npm_config_(registry|cache|userconfig|cafile|strict_ssl|.*proxy)|(https?|no)_proxy)$/i.test(e[0]))
  )

/** `sh -c command`, asynchronously: a build step takes minutes and must not block the test worker. */
const shell = (command: string, cwd: string, env: Record<string, string>) =>
  new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn("sh", ["-c", command], { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => { output += d })
    child.stderr.setEncoding("utf8").on("data", (d: string) => { output += d })
    child.once("error", reject)
    child.once("close", (code) => resolve({ code, output }))
  })

export interface BuildOptions {
  /** The build context (the repository). */
  readonly context: string
  /** An empty directory to hold the stages' file systems. */
  readonly workDir: string
  readonly buildArgs?: Record<string, string>
}

/** Executes every stage of the Dockerfile in order; returns the last stage as the image. */
export const build = async (dockerfile: Dockerfile, options: BuildOptions): Promise<BuiltImage> => {
  const roots = new Map<string, string>()
  const runLog: Array<{ stage: string; command: string; output: string }> = []
  // `chown` on the PATH of RUN steps records its arguments instead of changing owners
  const shims = join(options.workDir, "shims")
  mkdirSync(shims, { recursive: true })
  const chownLog = join(options.workDir, "chown.log")
  writeFileSync(join(shims, "chown"), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${chownLog}'\n`)
  chmodSync(join(shims, "chown"), 0o755)
  let config: ImageConfig | null = null
  let root = ""

  for (const [index, stage] of dockerfile.stages.entries()) {
    root = join(options.workDir, `stage-${index}`)
    mkdirSync(root, { recursive: true })
    roots.set(stage.name, root)
    const current = emptyConfig(stage.from)
    const inImage = (path: string) => join(root, posix.resolve(current.workdir, path))
    for (const ins of stage.instructions) {
      const effect = applyConfig(current, ins, dockerfile, options.buildArgs ?? {})
      mkdirSync(join(root, current.workdir), { recursive: true })
      if (effect?.keyword === "COPY") {
        const parts = words(effect.text)
        const flags = Object.fromEntries(parts.filter((p) => p.startsWith("--")).map((p) => p.slice(2).split("=") as [string, string]))
        const paths = parts.filter((p) => !p.startsWith("--"))
        const dest = paths.pop()
        if (dest === undefined || paths.length === 0) throw new Error(`Dockerfile:${ins.line}: COPY needs a source and a destination`)
        const fromRoot = flags["from"] === undefined ? null : roots.get(flags["from"])
        if (fromRoot === undefined) throw new Error(`Dockerfile:${ins.line}: unknown stage ${flags["from"]}`)
        for (const src of paths) {
          const source = fromRoot === null ? join(options.context, src) : join(fromRoot, src)
          if (!existsSync(source)) throw new Error(`Dockerfile:${ins.line}: COPY source ${src} does not exist`)
          const target = dest.endsWith("/") ? join(inImage(dest), posix.basename(src)) : inImage(dest)
          mkdirSync(dirname(target), { recursive: true })
          cpSync(source, target, { recursive: true })
        }
      } else if (effect?.keyword === "RUN") {
        const result = await shell(mapCommandPaths(root, effect.text), join(root, current.workdir), {
          ...buildEnv(),
          ...current.args,
          ...current.env,
          PATH: `${shims}:${dirname(process.execPath)}:${process.env["PATH"] ?? ""}`
        })
        runLog.push({ stage: stage.name, command: effect.text, output: result.output })
        if (result.code !== 0) throw new Error(`Dockerfile:${ins.line}: RUN ${effect.text} failed (${String(result.code)}):\n${result.output}`)
      }
    }
    config = current
  }
  if (config === null) throw new Error("Dockerfile has no stage")
  const chowns = existsSync(chownLog) ? readFileSync(chownLog, "utf8").split("\n").filter((l) => l !== "").map((l) => l.split(" ")) : []
  return { config, root, chowns, runLog }
}

export interface RunOptions {
  /** `docker run IMAGE ...args`: replaces CMD when given. */
  readonly args?: ReadonlyArray<string>
  readonly env?: Record<string, string>
  /** `-v host:container` bind mounts of single files. */
  readonly mounts?: Record<string, string>
}

/** The argv, environment and working directory `docker run` would use, with image paths mapped into its root. */
export const containerCommand = (image: BuiltImage, options: RunOptions = {}) => {
  for (const [host, target] of Object.entries(options.mounts ?? {})) {
    mkdirSync(dirname(rootPath(image.root, target)), { recursive: true })
    cpSync(host, rootPath(image.root, target))
  }
  const argv = [...image.config.entrypoint, ...(options.args ?? image.config.cmd)].map((a) => rootPath(image.root, a))
  const [program, ...rest] = argv
  if (program !== "node") throw new Error(`the image runs ${String(program)}, this interpreter only node`)
  const env = Object.fromEntries(
    Object.entries({ ...image.config.env, ...options.env }).map(([k, v]) => [k, v.startsWith("/") ? rootPath(image.root, v) : v])
  )
  return { file: process.execPath, args: rest, cwd: join(image.root, image.config.workdir), env }
}

export const runContainer = (image: BuiltImage, options: RunOptions & { readonly baseEnv: Record<string, string> }) => {
  const c = containerCommand(image, options)
  return spawn(c.file, c.args, { cwd: c.cwd, env: { ...options.baseEnv, ...c.env }, stdio: ["ignore", "pipe", "pipe"] })
}
