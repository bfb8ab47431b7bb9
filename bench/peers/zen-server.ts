/**
 * GoRules zen-engine behind a bare `node:http` server, the way a team would put it on the network: parse the
 * request's JSON, evaluate the decision (trace off), answer its result as JSON. Run as a child process by
 * bench/peers.bench.ts (argv: the JDM file); prints its port on stdout once it listens.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ZenEngine } from "@gorules/zen-engine";

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
