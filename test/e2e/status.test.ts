import { mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { SimServer } from "../../src/dev/simserver.js";
import { LiveConnector } from "../../src/app/live.js";
import { launchChromium } from "../helpers/browser.js";
import { mappingYaml, silent, tempDir, writeMapping } from "../helpers/env.js";
import { Producer, Stream } from "../helpers/producer.js";
import { waitFor } from "../helpers/wait.js";

// What the functions run in the page use of the DOM (the project's TypeScript has no DOM library).
interface PageElement {
  textContent: string | null;
  classList: { contains(name: string): boolean };
  getAttribute(name: string): string | null;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): { length: number };
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };
declare function getComputedStyle(element: unknown): { color: string };

/** The README's screenshot: rewritten only with UPDATE_SCREENSHOT=1, so a test run leaves the tree as it found it. */
const DOCS_SCREENSHOT = fileURLToPath(new URL("../../docs/status-page.png", import.meta.url));
const TOKEN = "s3cret-ops-token";

const dir = tempDir("status");
let server: SimServer;
let emulator: Emulator;
let browser: Browser;

beforeAll(async () => {
  // CHROMIUM_PATH, else /usr/bin/chromium, else the Chromium inside the npm package @sparticuz/chromium.
  const launched = await launchChromium();
  browser = launched.browser;
  console.log(`status page: browser ${launched.source}, Chromium ${browser.version()}`);
  server = await SimServer.start({ pkiDir: join(dir.path, "pki") });
  emulator = await startEmulator();
});
afterAll(async () => {
  await browser?.close();
  await emulator?.close();
  await server?.stop().catch(() => {});
  dir.remove();
});

const POINTS = [
  { name: "Boiler1.Temperature", pointId: "boiler1-temperature", type: "Double", initial: 71.5 },
  { name: "Boiler1.Pressure", pointId: "boiler1-pressure", type: "Double", initial: 2.25 },
  { name: "Line1.Speed", pointId: "line1-speed", type: "Double", initial: 120 },
  { name: "Line1.Vibration", pointId: "line1-vibration", type: "Double", initial: 0.5 },
  { name: "Line1.Running", pointId: "line1-running", type: "Boolean", initial: true },
  { name: "Line1.State", pointId: "line1-state", type: "String", initial: "Producing" },
  { name: "Line2.FlowCounter", pointId: "line2-flow-counter", type: "UInt64", initial: [0x20_0000, 1] }, // 2^53 + 1, as [high, low] words
  { name: "Line2.Setpoint", pointId: "line2-setpoint", type: "Int32", initial: 42 },
] as const;
/** In the mapping, not on the server: the server refuses to monitor it. */
const MISSING = { name: "Line9.Missing", pointId: "line9-missing" };

/** Text of a point's cell, or undefined while its row is not on screen. */
function cellText(page: Page, pointId: string, cls: string): Promise<string | undefined> {
  return page.evaluate(([id, c]) => document.querySelector(`#points tr[data-point="${id}"] td.${c}`)?.textContent ?? undefined, [pointId, cls] as const);
}

function shownPoints(page: Page): Promise<string[]> {
  return page.$$eval("#points tbody tr[data-point]", (rows) => rows.map((r) => r.getAttribute("data-point")!));
}

describe("status page in a browser", () => {
  it("shows the session, the flow and every point; updates live; search and sort; turns red when the OPC UA server stops", async () => {
    const p = new Producer(server);
    for (const x of POINTS) p.add(x.name, x.type, x.pointId, x.initial);
    const yaml = `${mappingYaml(server, emulator, join(dir.path, "state"), { points: [...POINTS, MISSING], maxDelay: "100ms", opsListen: "127.0.0.1:0" }).replace("ops:\n", `ops:\n  token: ${TOKEN}\n`)}`;
    const { mapping } = writeMapping(dir.path, yaml);
    // A refused batch (a dead letter) and a transient API failure, as a plant would see them.
    emulator.addFault({ status: 403, count: 1, pointId: "line2-setpoint" });
    emulator.addFault({ status: 503, count: 1, pointId: "line1-state" });
    const c = new LiveConnector(mapping, silent);
    const stream = new Stream(p, [{ name: "Line1.Speed", pointId: "line1-speed" }, { name: "Line1.Vibration", pointId: "line1-vibration" }], 50, 2_000);
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
    try {
      await c.start();
      const url = c.opsUrl!;
      stream.start();

      // Without the token: the page is refused. With the cookie (as /?token= sets it): it loads.
      const anonymous = await context.newPage();
      expect((await anonymous.goto(`${url}/`))?.status()).toBe(401);
      await anonymous.close();
      await context.addCookies([{ name: "opcua_ingest_token", value: TOKEN, url }]);
      const page = await context.newPage();
      const statusPolls: number[] = [];
      page.on("request", (r) => {
        if (r.url().includes("/api/status")) statusPolls.push(Date.now());
      });

      const started = performance.now();
      await page.goto(`${url}/`);
      await page.waitForFunction((n) => document.querySelectorAll("#points tbody tr[data-point]").length === n, POINTS.length + 1, { timeout: 10_000 });
      const loadMs = performance.now() - started;
      const nav = await page.evaluate(() => {
        const e = (performance as unknown as { getEntriesByType(type: string): unknown[] }).getEntriesByType("navigation")[0] as { domContentLoadedEventEnd: number; loadEventEnd: number };
        return { domContentLoaded: e.domContentLoadedEventEnd, load: e.loadEventEnd };
      });
      console.log(`status page: navigation to the points table shown ${loadMs.toFixed(0)} ms (DOMContentLoaded ${nav.domContentLoaded.toFixed(0)} ms, load ${nav.load.toFixed(0)} ms)`);

      // the session, the API, the points and their first values
      await page.waitForFunction(() => document.querySelector("#session-state")?.textContent === "connected", undefined, { timeout: 10_000 });
      expect(await page.getAttribute("#session-state", "class")).toContain("ok");
      expect(await page.textContent("#session-endpoint")).toBe(server.endpoint);
      expect((await shownPoints(page)).sort()).toEqual([...POINTS.map((x) => x.pointId), MISSING.pointId].sort());
      await page.waitForFunction(() => document.querySelector('#points tr[data-point="line2-flow-counter"] td.value')?.textContent === "9007199254740993", undefined, { timeout: 10_000 });
      expect(await cellText(page, MISSING.pointId, "status")).toBe("refused");

      // a value changes on screen when the server changes it
      p.set("Boiler1.Temperature", "Double", "boiler1-temperature", 87.25, "87.25", Date.now());
      const changed = performance.now();
      await page.waitForFunction(() => document.querySelector('#points tr[data-point="boiler1-temperature"] td.value')?.textContent === "87.25", undefined, { timeout: 5_000 });
      console.log(`status page: a changed value on screen after ${(performance.now() - changed).toFixed(0)} ms`);

      // search narrows the table (server-side), on the point id or the node id
      await page.fill("#search", "boiler");
      await page.waitForFunction(() => document.querySelectorAll("#points tbody tr[data-point]").length === 2, undefined, { timeout: 5_000 });
      expect((await shownPoints(page)).sort()).toEqual(["boiler1-pressure", "boiler1-temperature"]);
      expect(await page.textContent("#page-info")).toContain("2 matching (of 9)");
      await page.fill("#search", "Line2.Flow");
      await page.waitForFunction(() => document.querySelectorAll("#points tbody tr[data-point]").length === 1, undefined, { timeout: 5_000 });
      expect(await shownPoints(page)).toEqual(["line2-flow-counter"]);
      await page.fill("#search", "");
      await page.waitForFunction((n) => document.querySelectorAll("#points tbody tr[data-point]").length === n, POINTS.length + 1, { timeout: 5_000 });

      // sort by age: the silent point (never a value) first
      await page.selectOption("#sort", "-age");
      await page.waitForFunction((id) => document.querySelector("#points tbody tr[data-point]")?.getAttribute("data-point") === id, MISSING.pointId, { timeout: 5_000 });
      await page.selectOption("#sort", "pointId");

      // the dead letter and the API's last error are shown; nothing secret is
      await page.waitForFunction(() => document.querySelector("#dead-count")?.textContent === "1", undefined, { timeout: 10_000 });
      expect(await page.textContent("#dead-list")).toContain("line2-setpoint: HTTP 403");
      expect(await page.textContent("#api-error")).toMatch(/HTTP (403|503)/);
      const statusJson = await (await page.request.get(`${url}/api/status`)).text();
      const pointsJson = await (await page.request.get(`${url}/api/points?pageSize=500`)).text();
      for (const text of [await page.content(), statusJson, pointsJson]) {
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain("demo-secret");
        expect(text).not.toContain("demo-client");
      }

      // the chart fills (a sample every 2 s); polling stays at most once a second
      await waitFor(async () => ((JSON.parse(await (await page.request.get(`${url}/api/status`)).text()) as { history: unknown[] }).history.length >= 4), 15_000, "rate history");
      await page.waitForTimeout(1_200);
      const recent = statusPolls.filter((t) => t > Date.now() - 5_000);
      expect(recent.length).toBeLessThanOrEqual(6);
      expect(recent.length).toBeGreaterThanOrEqual(3);
      await page.locator("#search").blur();
      const shot = process.env.UPDATE_SCREENSHOT === "1" ? DOCS_SCREENSHOT : join(dir.path, "status-page.png");
      mkdirSync(dirname(shot), { recursive: true });
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000); // a rendered page, not an empty canvas

      // a tablet: no sideways scrolling of the page
      await page.setViewportSize({ width: 768, height: 1024 });
      await page.waitForTimeout(300);
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      await page.setViewportSize({ width: 1280, height: 1000 });

      // the OPC UA server stops: the session turns red within seconds
      stream.stop();
      await server.stop();
      const stopped = performance.now();
      await page.waitForFunction(() => document.querySelector("#session-state")?.classList.contains("bad") === true, undefined, { timeout: 15_000 });
      console.log(`status page: session red ${(performance.now() - stopped).toFixed(0)} ms after the OPC UA server stopped`);
      expect(await page.textContent("#session-state")).toMatch(/reconnecting|connecting/);
      const color = await page.$eval("#session-state", (e) => getComputedStyle(e).color);
      const [r, g, b] = color.match(/\d+/g)!.map(Number);
      expect(r).toBeGreaterThan(150);
      expect(g! + b!).toBeLessThan(r!);
    } finally {
      stream.stop();
      await context.close();
      await c.stop(2_000);
    }
  });
});
