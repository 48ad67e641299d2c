import { Command } from "@effect/cli"
import { version } from "../Support/Version.js"
import { demoCommand } from "./Demo.js"
import { planCommand } from "./Plan.js"
import { serveCommand } from "./Serve.js"
import { simulateCommand } from "./Simulate.js"
import { validateCommand } from "./Validate.js"

const root = Command.make("phala-drift").pipe(
  Command.withDescription("Terraform-style drift monitor for Phala Cloud apps."),
  Command.withSubcommands([serveCommand, planCommand, validateCommand, simulateCommand, demoCommand])
)

export const cli = Command.run(root, { name: "phala-drift", version })
