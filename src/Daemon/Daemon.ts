import { FetchHttpClient } from "@effect/platform"
import { Clock, Effect, Layer } from "effect"
import type { DaemonConfig } from "../Domain/App.js"
import { httpServerLayer, type ListenAddress } from "../Http/Server.js"
import { Metrics } from "../Metrics/Metrics.js"
import { ConfigStore } from "./ConfigStore.js"
import { Cycle } from "./Cycle.js"
import { DaemonState } from "./DaemonState.js"
import { CycleRunner, SchedulerLayer } from "./Scheduler.js"

const ConfigLoadedLayer = Layer.effectDiscard(
  Effect.gen(function*() {
    const metrics = yield* Metrics
    yield* metrics.configLoaded(true, new Date(yield* Clock.currentTimeMillis))
    yield* metrics.refresh
  })
)

/** Every long-running part of `serve`, given a loaded config and where to listen. */
export const daemonLayer = (config: DaemonConfig, address: ListenAddress) => {
  const core = Layer.mergeAll(Metrics.Default, DaemonState.Default, ConfigStore.layer(config), FetchHttpClient.layer)
  const services = CycleRunner.Default.pipe(Layer.provideMerge(Cycle.Default), Layer.provideMerge(core))
  return Layer.mergeAll(SchedulerLayer, httpServerLayer(address), ConfigLoadedLayer).pipe(Layer.provide(services))
}
