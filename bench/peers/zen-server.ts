/**
 * GoRules zen-engine behind a bare `node:http` server, the way a team would put it on the network: parse the
 * request's JSON, evaluate the decision (trace off), answer its result as JSON. Run as a child process by
 * bench/peers.bench.ts (argv: the JDM file); prints its port on stdout once it listens.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";

/**
 * zen-engine's Node binding as the `@gorules/zen-engine` package loads it on Linux x64: that package is only a
 * loader choosing one of its eight platform packages, and the registry this project installs from serves only
 * this one, so the lock file could not list the others and `npm ci` would refuse it. Same engine, same API.
 */
interface ZenBinding {
  ZenEngine: new () => {
    createDecision(content: Buffer): { evaluate(context: unknown): Promise<{ result: Record<string, unknown>; performance: string }> };
  };
}
const { ZenEngine } = createRequire(import.meta.url)("@gorules/zen-engine-linux-x64-gnu") as ZenBinding;

const decision = new ZenEngine().createDecision(readFileSync(process.argv[2]!));
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const { data } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { data: unknown };
    decision.evaluate(data).then(
      (response) => {
        res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify({ result: response.result.licence === true, output: response.result, performance: response.performance }));
      },
      (error: unknown) => {
        res.writeHead(500, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify({ error: String(error) }));
      },
    );
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
