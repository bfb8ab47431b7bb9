import "reflect-metadata";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Browser } from "puppeteer-core";
import { seedDemo } from "../../src/demo/seed.js";
import { seedDemoContentOnce } from "../../src/demo/demo-content.js";
import { EXAMPLE_OPERATION_NAMES } from "../../src/http/graphiql-examples.js";
import { graphql, startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * GraphiQL in a real browser: Chromium from the system's packages (`apt-get install chromium`; `.ci/run`
 * installs it), driven by puppeteer-core. Without a browser the test is skipped, saying so.
 */
const BROWSER = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find(
  (candidate): candidate is string => !!candidate && existsSync(candidate),
);
if (!BROWSER) console.warn("Skipping the GraphiQL browser test: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)");

let gateway: TestGateway;
let browser: Browser;
let adminToken: string;
let drivingLicenceId: string;

beforeAll(async () => {
  if (!BROWSER) return;
  gateway = await startTestGateway();
  const seed = await seedDemo(gateway.database);
  const content = await seedDemoContentOnce(gateway.services, seed);
  drivingLicenceId = content!.drivingLicenceId;
  adminToken = await gateway.tokenFor(seed.users.find((u) => u.role === "ADMIN")!.subject);
  const puppeteer = await import("puppeteer-core");
  browser = await puppeteer.launch({ executablePath: BROWSER, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
});
afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
});

it.skipIf(!BROWSER)(
  "opens offline with the example tabs and the linked user's header, and runs them",
  async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on("request", (request) => requested.push(request.url()));
    const origin = new URL(gateway.url).origin;

    await page.goto(`${gateway.url}/graphql#authorization=Bearer%20${adminToken}`, { waitUntil: "networkidle0" });
    await page.waitForFunction((count) => document.querySelectorAll(".graphiql-tab").length >= count, { timeout: 20_000 }, EXAMPLE_OPERATION_NAMES.length);

    // The example tabs, by their operations' names.
    const titles = await page.$$eval(".graphiql-tab", (tabs) => tabs.map((tab) => tab.textContent?.trim() ?? ""));
    for (const name of EXAMPLE_OPERATION_NAMES) expect(titles.some((title) => title.includes(name))).toBe(true);
    // The token came from the link into every tab's headers, and left the address bar.
    expect(await page.evaluate(() => location.hash)).toBe("");
    const tabState = JSON.parse((await page.evaluate(() => localStorage.getItem("graphiql:tabState")))!) as {
      tabs: { headers: string | null; variables: string | null; query: string | null }[];
    };
    for (const tab of tabState.tabs) expect(JSON.parse(tab.headers!)).toEqual({ Authorization: `Bearer ${adminToken}` });
    // The run example names the demo's driving-licence policy.
    const runTab = tabState.tabs.find((tab) => tab.query?.includes("RunDrivingLicence"))!;
    expect(JSON.parse(runTab.variables!).baseId).toBe(drivingLicenceId);

    // Running the first tab from the page answers with the demo policies (the editor wraps lines and renders only the visible ones: compare the first, without spaces).
    await page.click(".graphiql-execute-button");
    await page.waitForFunction(() => document.querySelector(".graphiql-response")?.textContent?.replace(/\s+/g, "").includes('"name":"Adultapplicant"'), {
      timeout: 20_000,
    });

    // Nothing the page loaded came from anywhere but the gateway itself (inline data: and blob: workers aside).
    const outside = requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith("data:") && !url.startsWith("blob:"));
    expect(outside).toEqual([]);
    expect(requested.some((url) => url.startsWith(`${origin}/graphql`))).toBe(true);
    await page.close();
  },
  90_000,
);

it.skipIf(!BROWSER)(
  "the subscription tab sends the header as graphql-ws connectionParams and shows the events as they commit",
  async () => {
    const page = await browser.newPage();
    // Wide enough for every tab to be on screen (clicks go to coordinates).
    await page.setViewport({ width: 1600, height: 1000 });
    // The WebSocket frames the page sends, as the browser's network layer saw them.
    const cdp = await page.createCDPSession();
    await cdp.send("Network.enable");
    const sent: { type?: string; payload?: Record<string, unknown> }[] = [];
    cdp.on("Network.webSocketFrameSent", ({ response }) => sent.push(JSON.parse(response.payloadData)));

    await page.goto(`${gateway.url}/graphql#authorization=Bearer%20${adminToken}`, { waitUntil: "networkidle0" });
    await page.waitForFunction((count) => document.querySelectorAll(".graphiql-tab").length >= count, { timeout: 20_000 }, EXAMPLE_OPERATION_NAMES.length);
    const tabs = await page.$$(".graphiql-tab");
    const titles = await Promise.all(tabs.map((tab) => tab.evaluate((element) => element.textContent ?? "")));
    const watchTab = titles.findIndex((title) => title.includes("WatchPolicy"));
    // A DOM click: the tab bar is a drag-to-reorder list, which takes a synthetic mouse press for the start of a drag.
    await (await tabs[watchTab]!.$(".graphiql-tab-button"))!.evaluate((button) => (button as HTMLButtonElement).click());
    await page.waitForFunction(
      (index) => document.querySelectorAll(".graphiql-tab")[index]?.classList.contains("graphiql-tab-active"),
      { timeout: 10_000 },
      watchTab,
    );
    // On a busy machine the editor may not take the first click yet: press run again while nothing went out.
    for (let attempt = 0; attempt < 3 && !sent.some((frame) => frame.type === "subscribe"); attempt++) {
      await page.click(".graphiql-execute-button");
      const until = Date.now() + 15_000;
      while (!sent.some((frame) => frame.type === "subscribe") && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // graphql-ws: connection_init carries the tab's Authorization header, then the subscription goes out.
    const init = sent.find((frame) => frame.type === "connection_init");
    expect(JSON.stringify(init?.payload)).toContain(`Bearer ${adminToken}`);
    expect(sent.find((frame) => frame.type === "subscribe")?.payload).toMatchObject({ variables: { baseId: drivingLicenceId } });

    // A change committed elsewhere arrives in the response pane.
    const admin = { authorization: `Bearer ${adminToken}` };
    expect((await graphql(gateway.url, "mutation ($id: ID!) { deleteBase(id: $id) { id } }", { id: drivingLicenceId }, admin)).errors).toBeUndefined();
    await page.waitForFunction(() => document.querySelector(".graphiql-response")?.textContent?.replace(/\s+/g, "").includes('"change":"DELETED"'), {
      timeout: 20_000,
    });
    expect((await graphql(gateway.url, "mutation ($id: ID!) { restoreBase(id: $id) { id } }", { id: drivingLicenceId }, admin)).errors).toBeUndefined();
    await page.close();
  },
  90_000,
);
