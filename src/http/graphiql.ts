import type { Request, Response, NextFunction } from "express";
import { exampleTabs, type ExampleIds } from "./graphiql-examples.js";

/** The Authorization header the page shows when the URL does not carry one. */
const PLACEHOLDER_HEADERS = JSON.stringify({ Authorization: "Bearer <a token printed at start-up>" }, null, 2);
/** Stands for the headers in the rendered options; replaced by a script expression (see `withHeadersFromUrl`). */
const HEADERS_MARKER = "__VERDICT_HEADERS__";
/** Stands for the graphql-ws `connectionParams` function (see CONNECTION_PARAMS). */
const CONNECTION_PARAMS_MARKER = "__VERDICT_CONNECTION_PARAMS__";
const RENDER_CALL = "YogaGraphiQL.renderYogaGraphiQL(";

/**
 * Runs before GraphiQL starts. A link like `/graphql#authorization=Bearer%20<token>` (printed at start-up)
 * fills every example tab's headers: the fragment never reaches the server or its logs, and it is removed
 * from the address bar at once. GraphiQL keeps tabs in localStorage and ignores its defaults when it finds
 * them, so opening such a link starts from fresh example tabs.
 */
const HEADERS_FROM_URL = `
  window.verdictHeaders = (function () {
    var placeholder = ${JSON.stringify(PLACEHOLDER_HEADERS)};
    var params = new URLSearchParams(location.hash.slice(1));
    var headers = {};
    if (params.get("authorization")) headers.Authorization = params.get("authorization");
    if (params.get("x-api-key")) headers["x-api-key"] = params.get("x-api-key");
    if (Object.keys(headers).length === 0) return placeholder;
    history.replaceState(null, "", location.pathname + location.search);
    try {
      for (var key of Object.keys(localStorage)) if (key.indexOf("graphiql:") === 0) localStorage.removeItem(key);
    } catch (e) {}
    return JSON.stringify(headers, null, 2);
  })();
`;

/**
 * The gateway authenticates a WebSocket once, from graphql-ws's `connectionParams` (src/server/graphql-ws.ts).
 * GraphiQL's own client sends an empty `connection_init` and puts the tab's headers in each subscribe message's
 * `extensions`, so its subscription tabs were refused. The client calls this function when it opens the socket,
 * which it does when a subscription starts: it returns the headers of the tab being run (the active one), read
 * from GraphiQL's headers editor (its Monaco model, else the rendered lines) — GraphiQL does not persist edited
 * headers anywhere else by default. One socket
 * serves every subscription running at once: a second tab with other headers, run while the first still
 * runs, uses the first one's credential (stop both to switch).
 */
const CONNECTION_PARAMS = `
  window.verdictConnectionParams = function () {
    try {
      var models = window.__MONACO ? window.__MONACO.editor.getModels() : [];
      var model = models.filter(function (m) { return /request-headers\\.json$/.test(m.uri.path); })[0];
      var headers = model
        ? model.getValue()
        : Array.prototype.map
            .call(document.querySelectorAll(".graphiql-editor-tool .graphiql-editor:last-child .view-line"), function (line) {
              return line.textContent.replace(/\\u00a0/g, " ");
            })
            .join("\\n");
      var parsed = JSON.parse(headers.trim() || "{}");
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
    } catch (e) {
      return {};
    }
  };
`;

const pages = new Map<string, string>();

/**
 * GraphiQL for people exploring the API, opening with documented example tabs. The page is self-contained
 * (scripts, styles and workers inline), so it works on machines with no internet. It is rendered once per
 * set of example IDs (the demo content's, or none).
 */
async function graphiqlPage(ids: ExampleIds | null): Promise<string> {
  const key = JSON.stringify(ids);
  let page = pages.get(key);
  if (!page) {
    const { renderGraphiQL } = await import("@graphql-yoga/render-graphiql");
    const tabs = exampleTabs(ids).map((tab) => ({ ...tab, headers: HEADERS_MARKER }));
    const rendered = renderGraphiQL({
      title: "Verdict GraphiQL",
      endpoint: "/graphql",
      defaultTabs: tabs,
      headers: HEADERS_MARKER,
      defaultHeaders: HEADERS_MARKER,
      defaultEditorToolsVisibility: true,
      subscriptionsProtocol: "WS",
      connectionParams: CONNECTION_PARAMS_MARKER,
    } as Parameters<typeof renderGraphiQL>[0]);
    page = withHeadersFromUrl(rendered);
    pages.clear(); // the demo's IDs change at most a few times: keep only the latest page
    pages.set(key, page);
  }
  return page;
}

function withHeadersFromUrl(html: string): string {
  if (html.split(RENDER_CALL).length !== 2) throw new Error("GraphiQL page: the render call was not found once; has @graphql-yoga/render-graphiql changed?");
  if (html.split(JSON.stringify(CONNECTION_PARAMS_MARKER)).length !== 2) throw new Error("GraphiQL page: connectionParams were not rendered once");
  return html
    .replace(RENDER_CALL, `${HEADERS_FROM_URL}\n${CONNECTION_PARAMS}\n${RENDER_CALL}`)
    .replaceAll(JSON.stringify(HEADERS_MARKER), "window.verdictHeaders")
    .replace(JSON.stringify(CONNECTION_PARAMS_MARKER), "window.verdictConnectionParams");
}

/**
 * Serves GraphiQL to browsers (GET with Accept: text/html); everything else falls through to Apollo.
 * `examples` finds the IDs the example tabs use (the demo tenant's content), or null.
 */
export function graphiql(enabled: boolean, examples: () => Promise<ExampleIds | null> = async () => null) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!enabled || req.method !== "GET" || req.accepts(["application/json", "text/html"]) !== "text/html") {
      next();
      return;
    }
    if (typeof req.query.query === "string") {
      next();
      return;
    }
    examples()
      .catch(() => null) // the examples are a convenience: a database hiccup must not hide GraphiQL
      .then(graphiqlPage)
      .then(
        (html) => res.type("html").send(html),
        (error: unknown) => next(error),
      );
  };
}
