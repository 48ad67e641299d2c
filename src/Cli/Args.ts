import { type CommandSpec, commands, findCommand, globalOptions, type OptionSpec } from "./Commands.js"

/** An option's value once parsed: text, an integer, a flag, or every value of a repeatable option. */
export type OptionValue = string | number | boolean | ReadonlyArray<string>

export interface Invocation {
  readonly command: CommandSpec
  readonly values: ReadonlyMap<string, OptionValue>
  readonly positional: string | undefined
  /** `--log-level`, wherever it was given. */
  readonly logLevel: string | undefined
}

export type Parsed =
  | { readonly _tag: "Help"; readonly command: CommandSpec | undefined }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Run"; readonly invocation: Invocation }
  | { readonly _tag: "Invalid"; readonly message: string; readonly command: CommandSpec | undefined }

const invalid = (message: string, command: CommandSpec | undefined): Parsed => ({ _tag: "Invalid", message, command })

const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined =>
  candidates.find((c) => c.startsWith(word) || word.startsWith(c) || editDistance(word, c) <= 2)

const editDistance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[b.length] ?? 0
}

type ValueOrError = { readonly value: string | number } | { readonly error: string }

const parseValue = (option: OptionSpec, raw: string): ValueOrError => {
  if (option.choices !== undefined && !option.choices.includes(raw)) {
    return { error: `--${option.name}: ${JSON.stringify(raw)} is not one of ${option.choices.join(", ")}` }
  }
  if (option.kind === "integer") {
    return /^-?[0-9]+$/.test(raw) && Number.isSafeInteger(Number(raw))
      ? { value: Number(raw) }
      : { error: `--${option.name}: ${JSON.stringify(raw)} is not an integer` }
  }
  return { value: raw }
}

/**
 * Reads argv (without node and the script). Options may come before or after the command name, as `--name value`,
 * `--name=value` or `-x value`; `--` ends the options. Pure: printing and exiting is the caller's.
 */
export const parseArgs = (argv: ReadonlyArray<string>): Parsed => {
  let command: CommandSpec | undefined
  const values = new Map<string, OptionValue>()
  const errors: Array<string> = []
  let positional: string | undefined
  let logLevel: string | undefined
  let help = false
  let showVersion = false
  let onlyPositionals = false

  const optionsNow = (): ReadonlyArray<OptionSpec> => [...(command?.options ?? []), ...globalOptions]
  const lookup = (word: string): OptionSpec | undefined => {
    const all = optionsNow()
    return word.startsWith("--") ? all.find((o) => o.name === word.slice(2)) : all.find((o) => o.alias !== undefined && `-${o.alias}` === word)
  }

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    if (!onlyPositionals && arg === "--") {
      onlyPositionals = true
      continue
    }
    if (!onlyPositionals && arg.startsWith("-") && arg !== "-") {
      const eq = arg.startsWith("--") ? arg.indexOf("=") : -1
      const word = eq === -1 ? arg : arg.slice(0, eq)
      if (word === "--version") {
        showVersion = true
        continue
      }
      const option = lookup(word)
      if (option === undefined) {
        const names = optionsNow().map((o) => `--${o.name}`)
        const guess = word.startsWith("--") ? closest(word, names) : undefined
        errors.push(`unknown option ${word}${command === undefined ? "" : ` for ${command.name}`}${guess === undefined ? "" : ` (did you mean ${guess}?)`}`)
        continue
      }
      if (option.kind === "flag") {
        if (eq !== -1) errors.push(`--${option.name} takes no value`)
        else if (option.name === "help") help = true
        else values.set(option.name, true)
        continue
      }
      const raw = eq === -1 ? argv[++i] : arg.slice(eq + 1)
      if (raw === undefined) {
        errors.push(`--${option.name} needs a value${option.value === undefined ? "" : ` (${option.value})`}`)
        continue
      }
      const parsed = parseValue(option, raw)
      if ("error" in parsed) errors.push(parsed.error)
      else if (option.name === "log-level") logLevel = raw
      else if (option.repeatable === true) values.set(option.name, [...listOf(values.get(option.name)), raw])
      else if (values.has(option.name)) errors.push(`--${option.name} given more than once`)
      else values.set(option.name, parsed.value)
      continue
    }
    if (command === undefined) {
      command = findCommand(arg)
      if (command === undefined) {
        const guess = closest(arg, commands.map((c) => c.name))
        return invalid(`unknown command ${JSON.stringify(arg)}${guess === undefined ? "" : ` (did you mean ${guess}?)`}`, undefined)
      }
      continue
    }
    if (command.positional !== undefined && positional === undefined) {
      const choices = command.positional.choices
      if (choices !== undefined && !choices.includes(arg)) {
        errors.push(`${command.positional.name}: ${JSON.stringify(arg)} is not one of ${choices.join(", ")}`)
      }
      positional = arg
      continue
    }
    errors.push(`unexpected argument ${JSON.stringify(arg)}`)
  }

  if (help) return { _tag: "Help", command }
  if (showVersion) return { _tag: "Version" }
  if (command === undefined) return errors.length > 0 ? invalid(errors.join("\n"), undefined) : { _tag: "Help", command: undefined }
  for (const option of command.options) {
    if (values.has(option.name)) continue
    if (option.required === true) errors.push(`--${option.name} is required`)
    else if (option.default !== undefined) {
      const parsed = parseValue(option, option.default)
      if ("value" in parsed) values.set(option.name, parsed.value)
    }
  }
  if (command.positional !== undefined && command.positional.optional !== true && positional === undefined) {
    const choices = command.positional.choices
    errors.push(`missing ${command.positional.name}${choices === undefined ? "" : ` (${choices.join(", ")})`}`)
  }
  if (errors.length > 0) return invalid(errors.join("\n"), command)
  return { _tag: "Run", invocation: { command, values, positional, logLevel } }
}

const listOf = (value: OptionValue | undefined): ReadonlyArray<string> =>
  Array.isArray(value) ? value : typeof value === "string" ? [value] : []

/** Typed reads of a parsed invocation; the table in Commands.ts says which option has which kind. */
export const textOf = (invocation: Invocation, name: string): string | undefined => {
  const value = invocation.values.get(name)
  return typeof value === "string" ? value : undefined
}

export const integerOf = (invocation: Invocation, name: string): number | undefined => {
  const value = invocation.values.get(name)
  return typeof value === "number" ? value : undefined
}

export const flagOf = (invocation: Invocation, name: string): boolean => invocation.values.get(name) === true

export const listOfOption = (invocation: Invocation, name: string): ReadonlyArray<string> => listOf(invocation.values.get(name))
