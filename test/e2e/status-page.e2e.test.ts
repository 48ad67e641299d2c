import { mkdirSync } from "node:fs"
import { join } from "node:path"
import type { Browser, Dialog, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { launchChromium } from "./support/browser.js"
import { cleanEnv, fixture, freePort, type Proc, ROOT, type Simulator, spawnCli, startSimulator, stopAll, waitFor } from "./support/harness.js"

const KEY = "phak_e2e_status_4b8d2e61"
const STOREFRONT = "c000000000000000000000000000000000000001"
const STOREFRONT_1 = "00000000-0000-4000-8000-00000000c102"
const SCRIPT_NAME = "<script>alert(1)</script>"
const IMG_NAME = "\"><img src=x onerror=alert(1)>"
const OUT = join(ROOT, "test-output")

let sim: Simulator
let daemon: Proc
let base: string
let browser: Browser
const dialogs: Array<string> = []

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true })
  sim = await startSimulator(fixture("e2e", "status-page.scenario.yaml"))
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  daemon = spawnCli(
    ["serve", "--config", fixture("e2e", "status-page.desired.yaml"), "--listen", `127.0.0.1:${port}`],
    cleanEnv({ PHALA_CLOUD_API_URL: sim.apiUrl, PHALA_CLOUD_API_KEY: KEY })
  )
  await waitFor("daemon ready", async () => {
    if (daemon.child.exitCode !== null) throw new Error(`daemon exited: ${daemon.stderr()}`)
    return (await fetch(`${base}/readyz`)).ok ? true : undefined
  })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await stopAll()
})

/** A page that records every dialog (alert/confirm/prompt) it would have shown, and dismisses it. */
const openPage = async (options: Parameters<Browser["newContext"]>[0] = {}): Promise<Page> => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options })
  const page = await context.newPage()
  page.on("dialog", (dialog: Dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  await page.goto(`${base}/`)
  return page
}

const appRow = (page: Page, name: string) => page.getByRole("row").filter({ has: page.getByText(name, { exact: true }) })

describe("status page", () => {
  it("is served as a strict, uncached HTML document", async () => {
    const response = await fetch(`${base}/`)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(response.headers.get("cache-control")).toBe("no-store")
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'")
    const body = await response.text()
    expect(body).toContain("<meta http-equiv=\"refresh\" content=\"5\">")
    expect(body).not.toContain(KEY)
  })

  it("shows the fleet at a glance: verdict, counts, one row per app, CVM badges and drifts", async () => {
    const page = await openPage()
    await expect.poll(() => page.title()).toContain("2 of 5 apps out of sync")
    expect(await page.getByRole("heading", { level: 1 }).innerText()).toBe("2 of 5 apps out of sync")
    expect(await page.getByText(/Updated \d+ s ago/).count()).toBe(1)
    const table = page.getByRole("table", { name: /Desired vs actual state per app/ })
    expect(await table.getByRole("columnheader").allTextContents()).toEqual(["App", "Sync", "Replicas", "CVMs", "Drift (desired → actual)"])
    // header row + five apps
    expect(await table.getByRole("row").count()).toBe(6)

    const storefront = appRow(page, "storefront")
    expect(await storefront.getByText("in sync").count()).toBe(1)
    expect(await storefront.getByText("running", { exact: true }).count()).toBe(2)
    expect(await storefront.getByRole("cell", { name: "2 / 2" }).count()).toBe(1)

    const orders = appRow(page, "orders")
    expect(await orders.getByText("out of sync").count()).toBe(1)
    expect(await orders.getByText("orders-0 instance_type: tdx.large → tdx.medium").count()).toBe(1)

    const retired = appRow(page, "retired")
    expect(await retired.getByText("app missing (404)").count()).toBe(1)
    expect(await retired.getByRole("cell", { name: "– / 1" }).count()).toBe(1)

    expect(await page.getByText("Built-in alerting is off", { exact: false }).count()).toBe(1)
    for (const name of ["Plan (text)", "Plan (JSON)", "Prometheus metrics"]) expect(await page.getByRole("link", { name }).count()).toBe(1)
    await page.screenshot({ path: join(OUT, "status-page.png"), fullPage: true })
    await page.context().close()
  })

  it("shows hostile names from the config and the API as literal text, with no markup or script", async () => {
    // without the CSP a successful injection would run, so a dialog would prove it
    const page = await openPage({ bypassCSP: true })
    expect(await page.getByText(SCRIPT_NAME, { exact: true }).count()).toBe(1)
    expect(await page.getByText(IMG_NAME, { exact: true }).count()).toBe(1)
    expect(await page.getByText("<b onmouseover=alert(2)>cvm</b>", { exact: true }).count()).toBe(1)
    expect(await page.getByText("team=<i>ops</i>", { exact: true }).count()).toBe(1)
    expect(await page.locator("img, script, b, i").count()).toBe(0)
    await page.getByText("<b onmouseover=alert(2)>cvm</b>", { exact: true }).hover()
    await page.waitForTimeout(200)
    expect(dialogs).toEqual([])
    await page.context().close()
  })

  it("shows a CVM stopped through the API as drift after a reload", async () => {
    const stop = await sim.admin("PUT", `/_sim/apps/${STOREFRONT}/cvms/${STOREFRONT_1}/status`, { status: "stopped" })
    expect(stop.ok).toBe(true)
    const page = await openPage()
    const storefront = appRow(page, "storefront")
    await waitFor("storefront out of sync on the page", async () => {
      await page.reload()
      return (await storefront.getByText("out of sync").count()) === 1 ? true : undefined
    }, 20_000, 500)
    expect(await page.getByRole("heading", { level: 1 }).innerText()).toBe("3 of 5 apps out of sync")
    expect(await storefront.getByText("stopped", { exact: true }).count()).toBe(1)
    expect(await storefront.getByText("running", { exact: true }).count()).toBe(1)
    expect(await storefront.getByText("storefront-1 status: running → stopped").count()).toBe(1)
    const badge = storefront.getByRole("listitem").filter({ hasText: "stopped" }).first()
    expect(await badge.getAttribute("title")).toBe(`vm_uuid ${STOREFRONT_1}, health degraded, desired running`)
    await page.screenshot({ path: join(OUT, "status-page-drift.png"), fullPage: true })
    await page.context().close()
    const dark = await openPage({ colorScheme: "dark" })
    await dark.screenshot({ path: join(OUT, "status-page-dark.png"), fullPage: true })
    await dark.context().close()
  })

  it("renders completely with JavaScript disabled", async () => {
    const page = await openPage({ javaScriptEnabled: false })
    expect(await page.getByRole("heading", { level: 1 }).innerText()).toMatch(/^\d of 5 apps out of sync$/)
    expect(await page.getByRole("table", { name: /Desired vs actual state per app/ }).getByRole("row").count()).toBe(6)
    expect(await appRow(page, "storefront").getByText("running", { exact: true }).count()).toBeGreaterThan(0)
    await page.screenshot({ path: join(OUT, "status-page-nojs.png"), fullPage: true })
    await page.context().close()
  })
})
