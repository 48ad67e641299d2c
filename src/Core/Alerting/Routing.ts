import type { Alert, AlertingSettings } from "../Domain/Alert.js"
import type { DesiredApp } from "../Domain/App.js"

/** Receiver names for an alert: the first route whose `match` labels all equal the alert's, else the defaults. */
export const routeAlert = (alert: Pick<Alert, "labels">, settings: AlertingSettings): ReadonlyArray<string> => {
  const route = settings.routes.find((r) => Object.entries(r.match).every(([name, value]) => alert.labels[name] === value))
  return route === undefined ? settings.defaultReceivers : route.receivers
}

/** Whether `now` (epoch ms) falls in one of the app's maintenance windows; start inclusive, end exclusive. */
export const inMaintenance = (app: DesiredApp, now: number): boolean =>
  app.maintenance.some((w) => w.start.getTime() <= now && now < w.end.getTime())
