import { type CommandSpec, commands, globalOptions, type OptionSpec } from "./Commands.js"

const program = "phala-drift"

const optionLabel = (option: OptionSpec): string => {
  const names = option.alias === undefined ? `    --${option.name}` : `-${option.alias}, --${option.name}`
  return option.kind === "flag" ? names : `${names} ${option.value ?? "VALUE"}`
}

const optionText = (option: OptionSpec): string => {
  const notes: Array<string> = []
  if (option.choices !== undefined) notes.push(`one of ${option.choices.join(", ")}`)
  if (option.required === true) notes.push("required")
  const shown = option.default ?? option.defaultNote
  if (shown !== undefined) notes.push(`default: ${shown}`)
  return notes.length === 0 ? option.description : `${option.description} (${notes.join("; ")})`
}

const table = (rows: ReadonlyArray<readonly [string, string]>): string => {
  const width = Math.max(...rows.map(([left]) => left.length))
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join("\n")
}

const usageOf = (command: CommandSpec): string => {
  const required = command.options.filter((o) => o.required === true).map((o) => `--${o.name} ${o.value ?? "VALUE"}`)
  const positional = command.positional === undefined
    ? []
    : [command.positional.optional === true ? `[${command.positional.name}]` : command.positional.name]
  return [program, command.name, ...required, ...positional, "[options]"].join(" ")
}

/** Help for one command, or for the program when `command` is undefined. Plain text: no colour, no filler. */
export const helpText = (command: CommandSpec | undefined): string => {
  if (command === undefined) {
    return [
      `Usage: ${program} <command> [options]`,
      "",
      "Terraform-style drift monitor for Phala Cloud apps.",
      "",
      "Commands:",
      table(commands.map((c) => [c.name, c.summary])),
      "",
      "Options:",
      table([...globalOptions, { name: "version", kind: "flag", description: "print the version" } satisfies OptionSpec].map((o) => [optionLabel(o), optionText(o)])),
      "",
      `Run \`${program} <command> --help\` for a command's options.`,
      ""
    ].join("\n")
  }
  const positional = command.positional === undefined
    ? []
    : ["", "Arguments:", table([[command.positional.name, command.positional.description]])]
  return [
    `Usage: ${usageOf(command)}`,
    "",
    command.summary,
    ...(command.details === undefined ? [] : ["", command.details]),
    ...positional,
    "",
    "Options:",
    table([...command.options, ...globalOptions].map((o) => [optionLabel(o), optionText(o)])),
    ""
  ].join("\n")
}

/** A usage error: what is wrong, then where to look. */
export const usageError = (message: string, command: CommandSpec | undefined): string =>
  `${program}: ${message}\nRun \`${program} ${command === undefined ? "" : `${command.name} `}--help\` for usage.\n`
