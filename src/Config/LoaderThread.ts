/**
 * The config loader's worker thread (Isolated.ts), which can be started ahead of need. A worker spends most of a
 * second loading its modules before it reads a byte of the file, and the main thread spends about as long loading
 * its own before it asks for the config: started as the command starts, the two overlap. This module stays light
 * (no Effect, no YAML) so that starting the thread costs the command nothing.
 */
import { Worker } from "node:worker_threads"
import { loaderHeapMb } from "./Limits.js"

const entry = new URL("./IsolatedEntry.js", import.meta.url)

const start = (): Worker =>
  new Worker(entry, { resourceLimits: { maxOldGenerationSizeMb: loaderHeapMb }, stdout: true, stderr: true })

interface Started {
  readonly worker: Worker
  alive: boolean
}

let started: Started | null = null

/** Starts a loader thread that waits for its request; it does not keep the process alive while it waits. */
export const prestartLoader = (): Worker => {
  if (started !== null) return started.worker
  const worker = start()
  const held: Started = { worker, alive: true }
  worker.once("error", () => {
    held.alive = false
  })
  worker.once("exit", () => {
    held.alive = false
  })
  worker.unref()
  started = held
  return worker
}

/** The thread `prestartLoader` started, once and if it is still alive; otherwise a new one. */
export const takeLoader = (): Worker => {
  const held = started
  started = null
  if (held !== null && held.alive) {
    held.worker.ref()
    return held.worker
  }
  if (held !== null) void held.worker.terminate()
  return start()
}

/** Stops a thread started ahead of need that turned out not to be needed (the file was small enough). */
export const discardLoader = (): void => {
  const held = started
  started = null
  if (held !== null) void held.worker.terminate()
}
