import { Options } from "@effect/cli"

export const configOption = Options.text("config").pipe(
  Options.withAlias("c"),
  Options.withDescription("desired-state file (default: $PHALA_DRIFT_CONFIG, then config/desired.yaml)"),
  Options.optional
)

export const outputOption = Options.choice("output", ["text", "json"]).pipe(
  Options.withAlias("o"),
  Options.withDescription("output format"),
  Options.withDefault("text" as const)
)
