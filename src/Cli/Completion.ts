import { commands, globalOptions, type OptionSpec, type Shell } from "./Commands.js"

const words = (options: ReadonlyArray<OptionSpec>): string =>
  options.flatMap((o) => (o.alias === undefined ? [`--${o.name}`] : [`--${o.name}`, `-${o.alias}`])).join(" ")

const valueOptions = (): ReadonlyArray<OptionSpec> => {
  const seen = new Map<string, OptionSpec>()
  for (const option of [...globalOptions, ...commands.flatMap((c) => c.options)]) {
    if (option.kind !== "flag" && !seen.has(option.name)) seen.set(option.name, option)
  }
  return [...seen.values()]
}

const namesOf = (option: OptionSpec): string => (option.alias === undefined ? `--${option.name}` : `--${option.name}|-${option.alias}`)

/** bash (and zsh through bashcompinit): commands, then each command's options, then values where they are known. */
const bash = (): string => {
  const names = commands.map((c) => c.name).join(" ")
  const valueCases = valueOptions().map((o) => {
    const reply = o.choices !== undefined
      ? `COMPREPLY=($(compgen -W "${o.choices.join(" ")}" -- "$cur"))`
      : o.file === true
      ? `COMPREPLY=($(compgen -f -- "$cur"))`
      : "COMPREPLY=()"
    return `    ${namesOf(o)}) ${reply}; return ;;`
  })
  // a command's argument (completion's shell) is offered until it is given, its options once a `-` is typed
  const commandCases = commands.map((c) => {
    const options = [words(c.options), words(globalOptions)].filter((w) => w !== "").join(" ")
    const reply = (candidates: string) => `COMPREPLY=($(compgen -W "${candidates}" -- "$cur"))`
    if (c.positional === undefined) return `    ${c.name}) ${reply(options)} ;;`
    const argument = c.positional.choices === undefined
      ? `COMPREPLY=($(compgen -f -- "$cur"))`
      : reply(c.positional.choices.join(" "))
    return `    ${c.name}) if [[ $cur == -* ]]; then ${reply(options)}; else ${argument}; fi ;;`
  })
  return [
    "# phala-drift completion for bash: source <(phala-drift completion bash)",
    "_phala_drift() {",
    "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\" command=\"\" i",
    "  for ((i = 1; i < COMP_CWORD; i++)); do",
    "    case \"${COMP_WORDS[i]}\" in",
    `      ${commands.map((c) => c.name).join("|")}) command="\${COMP_WORDS[i]}"; break ;;`,
    "    esac",
    "  done",
    "  case \"$prev\" in",
    ...valueCases,
    "  esac",
    "  case \"$command\" in",
    `    "") COMPREPLY=($(compgen -W "${names} ${words(globalOptions)} --version" -- "$cur")) ;;`,
    ...commandCases,
    "  esac",
    "}",
    "complete -o default -F _phala_drift phala-drift",
    ""
  ].join("\n")
}

const zsh = (): string =>
  ["# phala-drift completion for zsh: source <(phala-drift completion zsh)", "autoload -U +X bashcompinit && bashcompinit", bash()].join("\n")

const quoteFish = (text: string): string => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`

const fish = (): string => {
  const names = commands.map((c) => c.name).join(" ")
  const option = (o: OptionSpec, condition: string): string => {
    const alias = o.alias === undefined ? "" : ` -s ${o.alias}`
    const values = o.choices !== undefined ? ` -x -a ${quoteFish(o.choices.join(" "))}` : o.kind === "flag" ? "" : o.file === true ? " -r -F" : " -x"
    return `complete -c phala-drift -n ${quoteFish(condition)} -l ${o.name}${alias}${values} -d ${quoteFish(o.description)}`
  }
  return [
    "# phala-drift completion for fish: phala-drift completion fish | source",
    "complete -c phala-drift -f",
    ...commands.map((c) => `complete -c phala-drift -n ${quoteFish(`not __fish_seen_subcommand_from ${names}`)} -a ${c.name} -d ${quoteFish(c.summary)}`),
    ...globalOptions.map((o) => option(o, "true")),
    ...commands.flatMap((c) => [
      ...c.options.map((o) => option(o, `__fish_seen_subcommand_from ${c.name}`)),
      ...(c.positional === undefined
        ? []
        : c.positional.choices === undefined
        ? [`complete -c phala-drift -n ${quoteFish(`__fish_seen_subcommand_from ${c.name}`)} -F`]
        : [`complete -c phala-drift -n ${quoteFish(`__fish_seen_subcommand_from ${c.name}`)} -a ${quoteFish(c.positional.choices.join(" "))}`])
    ]),
    ""
  ].join("\n")
}

export const completionScript = (shell: Shell): string => (shell === "bash" ? bash() : shell === "zsh" ? zsh() : fish())
