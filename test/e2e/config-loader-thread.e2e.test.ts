// The config loader's worker thread started ahead of need (src/Config/LoaderThread.ts), on the built code: the
// worker's entry is a built file, so these run after `npm run build` like the other end-to-end tests.
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { Worker } from "node:worker_threads"
import { describe, expect, it } from "vitest"
import type * as LoaderThread from "../../src/Config/LoaderThread.js"
import { ROOT } from "./support/harness.js"

const loaderThread = async (): Promise<typeof LoaderThread> =>
  import(pathToFileURL(join(ROOT, "dist", "Config", "LoaderThread.js")).href) as Promise<typeof LoaderThread>

const exited = (worker: Worker) => new Promise<number>((resolve) => worker.once("exit", resolve))

/** One load through a thread: the request as Isolated.ts posts it, the reply as the thread posts it. */
const load = (worker: Worker, text: string) =>
  new Promise<unknown>((resolve, reject) => {
    worker.once("message", resolve)
    worker.once("error", reject)
    worker.postMessage({ text, file: "desired.yaml", env: { PHALA_CLOUD_API_KEY: "phak_thread" }, regularFilesOnly: false, unsetVariables: "error" })
  })

const config = [
  "version: 1",
  "api:",
  "  api_key: ${PHALA_CLOUD_API_KEY}",
  "apps:",
  ...Array.from({ length: 3 }, (_, i) => `  - app_id: ${(i + 1).toString(16).padStart(40, "0")}`)
].join("\n")

describe("the config loader's thread, started ahead of need", () => {
  it("is the thread the first load takes, and it checks the request it is sent", async () => {
    const { prestartLoader, takeLoader } = await loaderThread()
    const early = prestartLoader()
    expect(prestartLoader()).toBe(early)
    const taken = takeLoader()
    expect(taken).toBe(early)
    const reply = await load(taken, config)
    expect(reply).toMatchObject({ _tag: "Valid", warnings: [] })
    await taken.terminate()
    // taken once: the next load gets a thread of its own
    const next = takeLoader()
    expect(next).not.toBe(early)
    await next.terminate()
  }, 30_000)

  it("a thread that died while waiting is replaced, and one not needed is stopped", async () => {
    const { discardLoader, prestartLoader, takeLoader } = await loaderThread()
    const dead = prestartLoader()
    await dead.terminate()
    const replacement = takeLoader()
    expect(replacement).not.toBe(dead)
    expect(await load(replacement, config)).toMatchObject({ _tag: "Valid" })
    await replacement.terminate()
    const unneeded = prestartLoader()
    const stopped = exited(unneeded)
    discardLoader()
    expect(typeof (await stopped)).toBe("number")
  }, 30_000)
})
