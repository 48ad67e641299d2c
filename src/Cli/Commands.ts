/**
 * The command line, declared once: the parser, the help, the shell completion and the dispatcher all read this
 * table. Plain data with no imports, so that `--version`, `--help` and completion start without loading Effect.
 */

export interface OptionSpec {
  /** Long name, without the leading `--`. */
  readonly name: string
  readonly alias?: string
  readonly kind: "text" | "integer" | "flag"
  /** The accepted values, when there is a fixed set (also what completion offers). */
  readonly choices?: ReadonlyArray<string>
  /** What the value is, in help: FILE, N, HOST:PORT. */
  readonly value?: string
  readonly description: string
  /** The value when the option is absent; shown in help as `(default: ...)`. */
  readonly default?: string
  /** Where the value comes from when the option is absent, for help only (the command works it out). */
  readonly defaultNote?: string
  readonly repeatable?: boolean
  readonly required?: boolean
  /** Completion offers file names for its value. */
  readonly file?: boolean
}

export interface PositionalSpec {
  readonly name: string
  /** The accepted values; absent: a file name (completion offers files). */
  readonly choices?: ReadonlyArray<string>
  readonly description: string
  /** May be left out (shown as `[NAME]` in help). */
  readonly optional?: boolean
}

export interface CommandSpec {
  readonly name: string
  readonly summary: string
  readonly details?: string
  readonly options: ReadonlyArray<OptionSpec>
  readonly positional?: PositionalSpec
}

export const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "none"] as const

/** Accepted before or after the command name, by every command. */
export const globalOptions: ReadonlyArray<OptionSpec> = [
  {
    name: "log-level",
    kind: "text",
    choices: logLevels,
    value: "LEVEL",
    description: "minimum level of the log lines on stderr",
    defaultNote: "$LOG_LEVEL, then info"
  },
  { name: "help", alias: "h", kind: "flag", description: "show this help" }
]

const config: OptionSpec = {
  name: "config",
  alias: "c",
  kind: "text",
  value: "FILE",
  description: "desired-state file",
  defaultNote: "$PHALA_DRIFT_CONFIG, then config/desired.yaml",
  file: true
}

const appOption: OptionSpec = {
  name: "app",
  kind: "text",
  value: "ID|NAME",
  description: "only this declared app, by app_id or name (repeatable)",
  repeatable: true
}

const output: OptionSpec = { name: "output", alias: "o", kind: "text", choices: ["text", "json"], value: "FORMAT", description: "output format", default: "text" }

const shard: ReadonlyArray<OptionSpec> = [
  { name: "shard", kind: "integer", value: "I", description: "this process's shard, 0-based (with --total-shards)" },
  { name: "total-shards", kind: "integer", value: "N", description: "number of shards; apps are split by a stable hash of app_id" }
]

export const shells = ["bash", "zsh", "fish"] as const
export type Shell = (typeof shells)[number]

export const commands: ReadonlyArray<CommandSpec> = [
  {
    name: "serve",
    summary: "Run the daemon: poll, diff, serve metrics, alerts, the plan API and the status page.",
    details: "Exit codes: 0 on SIGTERM/SIGINT, 1 on a start-up error.",
    options: [
      config,
      { name: "listen", kind: "text", value: "HOST:PORT", description: "listen address", defaultNote: "server.listen of the config, else 0.0.0.0:9477" },
      { name: "state-dir", kind: "text", value: "DIR", description: "alert state and notification outbox", defaultNote: "state_dir of the config", file: true },
      ...shard
    ]
  },
  {
    name: "plan",
    summary: "Run one reconcile cycle and print it like `terraform plan`.",
    details: "Exit codes: 0 in sync, 2 drift, 3 no drift but some apps unknown, 1 error (an API key the API rejects\n" +
      "included); 130 (SIGINT) or 143 (SIGTERM) when interrupted: never 0 without a result.",
    options: [
      config,
      output,
      appOption,
      { name: "out", kind: "text", value: "FILE", description: "also save the plan to FILE (mode 0600) for `apply FILE` and `show FILE`", file: true },
      ...shard
    ]
  },
  {
    name: "show",
    summary: "Print a plan saved by `plan --out FILE`.",
    details: "Exit codes: 0 shown, 1 when the file cannot be read or is not a saved plan.",
    options: [output],
    positional: { name: "FILE", description: "a file written by `plan --out`" }
  },
  {
    name: "apply",
    summary: "Start or shut down CVMs so they match their desired status, like `terraform apply`.",
    details: "Without FILE it plans first. It lists the actions and asks for 'yes' on a terminal; without a terminal it\n" +
      "refuses unless --auto-approve. Only stopped/exited CVMs that should run are started and running CVMs that\n" +
      "should be stopped shut down; anything else needs a person. Each app is re-read right before acting: a CVM\n" +
      "that changed since the plan is skipped. A saved plan whose config file changed is refused as stale.\n" +
      "Exit codes: 0 every action succeeded or was skipped (or nothing to do), 1 refused or an action failed.",
    options: [
      config,
      appOption,
      { name: "auto-approve", kind: "flag", description: "act without asking (needed without a terminal)" },
      {
        name: "max-actions",
        kind: "integer",
        value: "N",
        description: "refuse everything when more than N actions are planned (blast radius)",
        default: "10"
      },
      { name: "force", kind: "flag", description: "hard `stop` (power off) instead of the graceful `shutdown`" },
      output
    ],
    positional: { name: "FILE", description: "a plan saved by `plan --out` (default: plan now)", optional: true }
  },
  {
    name: "validate",
    summary: "Check a desired-state file without touching the network or needing its secrets.",
    details: "An unset ${VAR} is a note, not an error, unless --strict.\nExit codes: 0 valid (warnings and notes are shown), 1 invalid.",
    options: [
      config,
      output,
      { name: "strict", kind: "flag", description: "an unset ${VAR} is an error, as for plan and serve" }
    ]
  },
  {
    name: "import",
    summary: "Write a desired-state file from what runs in the workspace (to review, validate and commit).",
    details: "Reads every app with GET /apps (API settings from --config's api: block, else PHALA_CLOUD_API_KEY and\n" +
      "PHALA_CLOUD_API_URL) and pins each to its current replicas, status and the cvm: attributes all its CVMs share.\n" +
      "With --config, apps already declared are kept as written and only new ones are appended (comments kept).\n" +
      "The API key is never written: api_key is ${PHALA_CLOUD_API_KEY}.\nExit codes: 0 written, 1 error.",
    options: [
      {
        name: "config",
        alias: "c",
        kind: "text",
        value: "FILE",
        description: "desired-state file to take the API settings from and to merge new apps into",
        file: true
      },
      { name: "app", kind: "text", value: "ID", description: "only this app_id (repeatable)", repeatable: true },
      {
        name: "output",
        alias: "o",
        kind: "text",
        value: "FILE",
        description: "write the YAML to FILE (mode 0644) instead of stdout",
        file: true
      }
    ]
  },
  {
    name: "simulate",
    summary: "Serve the local Phala Cloud API simulator from a scenario file.",
    options: [
      { name: "scenario", kind: "text", value: "FILE", description: "scenario YAML file (see docs/simulator.md)", required: true, file: true },
      { name: "port", kind: "integer", value: "N", description: "port to listen on (0 picks a free one)", default: "8787" },
      { name: "host", kind: "text", value: "HOST", description: "address to bind", default: "127.0.0.1" }
    ]
  },
  {
    name: "demo",
    summary: "Start the simulator with the bundled demo fleet and the daemon watching it.",
    options: [
      { name: "port", kind: "integer", value: "N", description: "daemon port (use another when 9477 is taken)", default: "9477" },
      { name: "sim-port", kind: "integer", value: "N", description: "simulator port (use another when 8787 is taken)", default: "8787" }
    ]
  },
  {
    name: "version",
    summary: "Print the version, the git commit it was built from and the Node.js version.",
    options: [output]
  },
  {
    name: "completion",
    summary: "Print a shell completion script.",
    details: "bash: source <(phala-drift completion bash) in ~/.bashrc\nzsh:  source <(phala-drift completion zsh) in ~/.zshrc\n" +
      "fish: phala-drift completion fish | source",
    options: [],
    positional: { name: "SHELL", choices: shells, description: "bash, zsh or fish" }
  }
]

export const findCommand = (name: string): CommandSpec | undefined => commands.find((c) => c.name === name)
