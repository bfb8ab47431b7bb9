import type { Request, Response, NextFunction } from "express";

let page: string | undefined;

/**
 * GraphiQL for people exploring the API. The page is self-contained (scripts, styles and workers inline),
 * so it works on machines with no internet. It is rendered once, on first use, to keep start-up fast.
 */
async function graphiqlPage(): Promise<string> {
  if (!page) {
    const { renderGraphiQL } = await import("@graphql-yoga/render-graphiql");
    page = renderGraphiQL({
      title: "Verdict GraphiQL",
      endpoint: "/graphql",
      defaultQuery: "query Me {\n  viewer {\n    credential\n    tenant { name }\n    user { email roles }\n  }\n}\n",
      headers: JSON.stringify({ Authorization: "Bearer <token printed at start-up>" }),
    } as Parameters<typeof renderGraphiQL>[0]);
  }
  return page;
}

/** Serves GraphiQL to browsers (GET with Accept: text/html); everything else falls through to Apollo. */
export function graphiql(enabled: boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!enabled || req.method !== "GET" || req.accepts(["application/json", "text/html"]) !== "text/html") {
      next();
      return;
    }
    if (typeof req.query.query === "string") {
      next();
      return;
    }
    graphiqlPage().then(
      (html) => res.type("html").send(html),
      (error: unknown) => next(error),
    );
  };
}
