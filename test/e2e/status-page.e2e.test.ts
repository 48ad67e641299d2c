import { mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { Browser, Dialog, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { launchChromium } from "./support/browser.js"
import {
  cleanEnv,
  fixture,
  freePort,
  type Proc,
  ROOT,
  type Simulator,
  spawnCli,
  startSimulator,
  stopAll,
  tempDir,
  waitFor
} from "./support/harness.js"

const KEY = "phak_e2e_status_4b8d2e61"
const STOREFRONT = "c000000000000000000000000000000000000001"
const STOREFRONT_1 = "00000000-0000-4000-8000-00000000c102"
const SCRIPT_NAME = "<script>alert(1)</script>"
const IMG_NAME = "\"><img src=x onerror=alert(1)>"
const OUT = join(ROOT, "test-output")
const ORDERS = "c000000000000000000000000000000000000002"
const HOSTILE_LABELLED = "c000000000000000000000000000000000000004"
const APP_IDS = [STOREFRONT, ORDERS, "c000000000000000000000000000000000000003", HOSTILE_LABELLED, "c0000000000000000000000000000000000000ff"]
// screenshots of the layout checks, kept as artifacts of the run
const SHOTS = tempDir("phala-drift-status-shots-")

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
    expect(await page.locator("table.apps").getByText("team=<i>ops</i>", { exact: true }).count()).toBe(1)
    // the label filter offers the same text, as text
    expect(await page.getByRole("option", { name: "team=<i>ops</i>", exact: true }).count()).toBe(1)
    expect(await page.locator("img, b, i").count()).toBe(0)
    // the one script is the page's own refresh, at the end of the body
    expect(await page.locator("script").evaluateAll((all) => all.map((e) => `${e.parentElement?.tagName}:${e.textContent?.slice(0, 8)}`))).toEqual(["BODY:(() => {"])
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

/** A PNG file that holds an image: the signature and more than a header's worth of bytes. */
const expectPng = (path: string) => {
  const bytes = readFileSync(path)
  expect(bytes.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a")
  expect(bytes.length).toBeGreaterThan(5_000)
}

const apps = (page: Page) => page.locator("table.apps tbody tr[id^=\"app-\"]")

describe("status page for operators who keep it open", () => {
  it("serves the text plan as UTF-8 plain text", async () => {
    const response = await fetch(`${base}/api/v1/plan?format=text`)
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8")
    expect(await response.text()).toContain("phala-drift plan")
  })

  for (const [name, width, height] of [["desktop", 1280, 900], ["mobile", 390, 844]] as const) {
    it(`fits a ${width} px wide screen without scrolling the page sideways, every app anchored and linked (${name})`, async () => {
      const page = await openPage({ viewport: { width, height }, isMobile: width < 500, hasTouch: width < 500 })
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
      expect(await page.evaluate(() => document.body.scrollWidth <= window.innerWidth)).toBe(true)
      for (const id of APP_IDS) {
        const row = page.locator(`[id="app-${id}"]`)
        expect(await row.count()).toBe(1)
        expect(await row.getByRole("link", { name: "Phala Cloud" }).getAttribute("href")).toBe(`https://cloud.phala.com/dashboard/cvms/app_${id}`)
        // at 390 px every row is a card no wider than the screen
        const box = await row.boundingBox()
        expect(box === null ? Number.NaN : box.x + box.width).toBeLessThanOrEqual(width)
      }
      expect(await page.getByRole("search", { name: "Filter apps" }).isVisible()).toBe(true)
      const path = join(SHOTS, `status-page-${name}.png`)
      await page.screenshot({ path, fullPage: true })
      expectPng(path)
      await page.context().close()
    })
  }

  it("says since when an app is out of sync and when it was observed", async () => {
    const page = await openPage()
    // storefront was seen in sync, then its CVM was stopped (test above); orders was out of sync from the start
    const storefront = await page.locator(`[id="app-${STOREFRONT}"]`).innerText()
    expect(storefront).toMatch(/out of sync\s+since \d\d:\d\d:\d\d UTC \(\d+ (s|min)\)/)
    expect(storefront).not.toContain("or earlier")
    expect(storefront).toMatch(/observed \d\d:\d\d:\d\d UTC/)
    expect(await page.locator(`[id="app-${ORDERS}"]`).innerText()).toMatch(/out of sync\s+since \d\d:\d\d:\d\d UTC or earlier/)
    await page.context().close()
  })

  it("filters by search, sync state and label with JavaScript off, through the GET form and its URL", async () => {
    const page = await openPage({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } })
    await page.getByLabel("Search", { exact: true }).fill("ORDERS")
    await page.getByRole("button", { name: "Filter" }).click()
    await page.waitForURL(/[?&]q=ORDERS/)
    expect(await apps(page).count()).toBe(1)
    expect(await apps(page).first().getAttribute("id")).toBe(`app-${ORDERS}`)
    expect(await page.getByText("1 app of 5 shown", { exact: false }).count()).toBe(1)

    await page.getByLabel("Search", { exact: true }).fill("")
    await page.getByLabel("Label", { exact: true }).selectOption("team=<i>ops</i>")
    await page.getByRole("button", { name: "Filter" }).click()
    await page.waitForURL(/label=team%3D%3Ci%3Eops/)
    expect(await apps(page).evaluateAll((rows) => rows.map((r) => r.id))).toEqual([`app-${HOSTILE_LABELLED}`])

    await page.goto(`${base}/?sync=in_sync`)
    const inSync = await apps(page).evaluateAll((rows) => rows.map((r) => r.className))
    expect(inSync.length).toBeGreaterThan(0)
    expect(inSync.every((c) => c === "row-ok")).toBe(true)
    await page.goto(`${base}/?sync=out_of_sync&q=re`)
    expect(await apps(page).evaluateAll((rows) => rows.map((r) => r.id))).toEqual(["app-c0000000000000000000000000000000000000ff", `app-${STOREFRONT}`])
    await page.screenshot({ path: join(SHOTS, "status-page-filtered-nojs.png"), fullPage: true })
    expectPng(join(SHOTS, "status-page-filtered-nojs.png"))
    await page.context().close()
  })

  it("opens an alert's link on the app's row", async () => {
    const page = await openPage({ javaScriptEnabled: false })
    await page.goto(`${base}/?app=${ORDERS}#app-${ORDERS}`)
    expect(await apps(page).count()).toBe(1)
    expect(await page.evaluate(() => document.querySelector(":target")?.id)).toBe(`app-${ORDERS}`)
    await page.context().close()
  })

  it("refreshes in place, keeping the scroll position, and reloads the whole page without JavaScript", async () => {
    const page = await openPage({ viewport: { width: 390, height: 500 } })
    expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeGreaterThan(1500)
    await page.evaluate(() => {
      window.scrollTo(0, 700)
      Object.assign(window, { notReloaded: true })
    })
    const rendered = () => page.locator("#live-footer time").getAttribute("datetime")
    const before = await rendered()
    await waitFor("the page to refresh itself", async () => ((await rendered()) !== before ? true : undefined), 30_000, 250)
    expect(await page.evaluate(() => ({ y: window.scrollY, same: (window as { notReloaded?: boolean }).notReloaded === true }))).toEqual({ y: 700, same: true })
    expect(await page.locator("#refresh-status").innerText()).toBe("")

    // a refresh that fails says so and keeps the data shown; the next one that works clears the warning
    await page.route(`${base}/`, (route) => route.abort("connectionrefused"))
    const status = page.locator("#refresh-status")
    await waitFor("a failed refresh to be reported", async () => ((await status.innerText()).startsWith("Could not refresh") ? true : undefined), 30_000, 250)
    expect(await apps(page).count()).toBe(APP_IDS.length)
    await page.unroute(`${base}/`)
    await waitFor("the warning to clear", async () => ((await status.innerText()) === "" ? true : undefined), 30_000, 250)
    expect(await page.evaluate(() => window.scrollY)).toBe(700)
    await page.context().close()

    const plain = await openPage({ javaScriptEnabled: false })
    await plain.waitForEvent("load", { timeout: 30_000 })
    expect(await plain.getByRole("heading", { level: 1 }).innerText()).toMatch(/apps out of sync/)
    await plain.context().close()
  })
})
