/**
 * The config loader's worker thread (see Isolated.ts, LoaderThread.ts): checks the config text of its first message
 * and posts back the config or the diagnostics. Secret files are read here too.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Schema } from "effect"
import { parentPort } from "node:worker_threads"
import { checkConfig, readSecretFileWith } from "./Load.js"
import { toWire } from "./Transfer.js"

export const LoadRequest = Schema.Struct({
  text: Schema.String,
  file: Schema.String,
  env: Schema.Record({ key: Schema.String, value: Schema.String }),
  regularFilesOnly: Schema.Boolean,
  unsetVariables: Schema.Literal("error", "note")
})

const program = (data: unknown) =>
  Effect.gen(function*() {
    const request = yield* Schema.decodeUnknown(LoadRequest)(data)
    const fs = yield* FileSystem.FileSystem
    const readSecretFile = readSecretFileWith(fs, { regularFilesOnly: request.regularFilesOnly })
    return yield* checkConfig(request.text, request.file, request.env, readSecretFile, request.unsetVariables).pipe(
      Effect.match({
        onFailure: (error) => ({ _tag: "Invalid", diagnostics: error.diagnostics, omitted: error.omitted }),
        onSuccess: ({ config, notes, warnings }) => ({
          _tag: "Valid",
          config: config === null ? null : toWire(config),
          notes,
          warnings
        })
      })
    )
  }).pipe(Effect.provide(NodeFileSystem.layer))

// the thread may start before anyone knows what to load (LoaderThread.ts): the request is its first message
parentPort?.once("message", (data: unknown) => {
  void Effect.runPromise(program(data)).then((reply) => parentPort?.postMessage(reply))
})
