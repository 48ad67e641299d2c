// Writes schema/phala-drift.config.schema.json from the config's Effect Schema (`npm run schema`, after a build).
// test/unit/config-json-schema.test.ts fails when the committed file differs from what this writes.
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { configJsonSchemaText, configSchemaPath } from "../dist/Config/JsonSchema.js"

mkdirSync(dirname(configSchemaPath), { recursive: true })
writeFileSync(configSchemaPath, configJsonSchemaText())
console.log(`wrote ${configSchemaPath}`)
