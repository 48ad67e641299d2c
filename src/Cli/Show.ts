import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either } from "effect"
import { decodeSavedPlan, type SavedPlan } from "../Core/Plan/SavedPlan.js"
import { type Invocation, textOf } from "./Args.js"
import { setExitCode } from "./ExitCode.js"
import { printErr, printOut } from "./Output.js"

/** A saved plan from `plan --out`, decoded; a message naming the file when it cannot be read or is not one. */
export const readSavedPlan = (path: string): Effect.Effect<Either.Either<SavedPlan, string>, never, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(path)).pipe(
    Effect.map((text) => Either.mapLeft(decodeSavedPlan(text), (why) => `${path}: ${why}`)),
    Effect.catchAll((error) => Effect.succeed(Either.left(`${path}: cannot read the saved plan: ${error.message}`)))
  )

export const run = (invocation: Invocation) =>
  Effect.gen(function*() {
    const path = invocation.positional ?? ""
    const saved = yield* readSavedPlan(path)
    if (Either.isLeft(saved)) {
      yield* printErr(`phala-drift: ${saved.left}`)
      return yield* setExitCode(1)
    }
    const plan = saved.right
    yield* printOut(
      textOf(invocation, "output") === "json"
        ? JSON.stringify(plan.document, null, 2)
        : `${plan.text}\nSaved plan of ${plan.configPath} (${plan.configDigest}).\n`
    )
  })
