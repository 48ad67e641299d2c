import type { AlertEvent } from "../../Core/Domain/Alert.js"
import { generatorUrlOf } from "./AlertmanagerPayload.js"

/** Slack reads `&`, `<` and `>` as markup; anything from the API or config must not be able to inject links. */
export const escapeSlack = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

export interface SlackMessage {
  readonly text: string
  readonly blocks: ReadonlyArray<SlackBlock>
}

export type SlackBlock =
  | { readonly type: "section"; readonly text: SlackText; readonly fields?: ReadonlyArray<SlackText> }
  | { readonly type: "context"; readonly elements: ReadonlyArray<SlackText> }

export interface SlackText {
  readonly type: "mrkdwn"
  readonly text: string
}

const mrkdwn = (text: string): SlackText => ({ type: "mrkdwn", text })

export interface SlackMessageOptions {
  readonly externalUrl: string | null
}

/** `:rotating_light: [FIRING] PhalaCvmStatusDrift — payments-api`, then app, CVM, desired vs actual, severity, plan link. */
export const slackMessage = (event: AlertEvent, options: SlackMessageOptions): SlackMessage => {
  const { alert } = event
  const { labels, annotations } = alert
  const appName = labels["app_name"] ?? labels["app_id"] ?? "unknown app"
  const icon = event.kind === "firing" ? ":rotating_light:" : ":white_check_mark:"
  const title = `${icon} [${event.kind === "firing" ? "FIRING" : "RESOLVED"}] ${escapeSlack(alert.name)} — ${
    escapeSlack(appName)
  }`

  const fields: Array<SlackText> = []
  const field = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== "") fields.push(mrkdwn(`*${name}*\n${escapeSlack(value)}`))
  }
  field("App", labels["app_id"] === undefined ? appName : `${appName} (${labels["app_id"]})`)
  const cvm = labels["cvm_name"] ?? labels["vm_uuid"]
  field("CVM", cvm === undefined || labels["vm_uuid"] === undefined || cvm === labels["vm_uuid"]
    ? cvm
    : `${cvm} (${labels["vm_uuid"]})`)
  field("Desired", annotations["desired"])
  field("Actual", annotations["actual"])
  field("Severity", labels["severity"])

  const summary = annotations["summary"] ?? annotations["description"]
  const detail = annotations["summary"] !== undefined ? annotations["description"] : undefined
  const body = [title, summary, detail]
    .map((line, index) => (index === 0 || line === undefined ? line : escapeSlack(line)))
    .filter((line): line is string => line !== undefined && line !== "")
    .join("\n")

  const planUrl = generatorUrlOf(alert, options.externalUrl)
  const link = planUrl === null ? null : `<${escapeSlack(planUrl).replace(/\|/g, "%7C")}|View plan>`
  const when = `${event.kind === "firing" ? "Firing since" : "Resolved at"} ${
    new Date(event.kind === "firing" ? (alert.firedAt ?? event.at) : (alert.resolvedAt ?? event.at)).toISOString()
  }`

  const blocks: Array<SlackBlock> = [
    { type: "section", text: mrkdwn(body), ...(fields.length === 0 ? {} : { fields }) },
    { type: "context", elements: [mrkdwn(link === null ? when : `${when} · ${link}`)] }
  ]
  return { text: link === null ? title : `${title} ${link}`, blocks }
}
