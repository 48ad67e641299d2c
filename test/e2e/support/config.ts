import { testConfigHead } from "./harness.js"

/** The desired state the alerting e2e tests run against: one app of the e2e scenario, 1 s polls, `for: 1s`. */
export const PAYMENTS = "b000000000000000000000000000000000000001"

export const alertingConfig = (alerting: string | null): string =>
  [
    ...testConfigHead,
    "defaults:",
    "  for: 1s",
    "  severity: critical",
    ...(alerting === null ? [] : [alerting]),
    "apps:",
    `  - app_id: ${PAYMENTS}`,
    "    name: payments",
    "    labels: { team: payments }",
    "    replicas: { min: 1, max: 3 }",
    ""
  ].join("\n")
