/**
 * Runs every example of the language guide (docs/language.md) through the engine's public API, so the guide
 * cannot drift from the engine. The block kinds and the line format of `cases` are described in the guide's
 * section "How to read the examples"; this file is their only interpreter.
 *
 * Besides running the examples it checks that the guide stays complete and citable: every operator phrasing the
 * engine lists appears in some example, every verb the guide lists is one the engine strips, every block is of a
 * known kind, and every `docs/language.md#<anchor>` cited anywhere in the repository names a heading of the guide.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { explainPolicy, listOperators, runPolicy, type PolicyResponse } from "../../src/engine/index.js";
import { parseFlow, runFlow, type PolicyRunner } from "../../src/engine/flow/index.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const GUIDE = readFileSync(path.join(ROOT, "docs/language.md"), "utf8");
/** The date every example assumes unless its block says `today=YYYY-MM-DD`. */
const DEFAULT_TODAY = "2025-09-16";

interface Block {
  kind: string;
  options: Record<string, string>;
  body: string;
  /** 1-based line of the opening fence, for failure messages. */
  line: number;
}

/** Fenced blocks that start at the beginning of a line; the info string is `kind key=value …`. */
function fencedBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i] ?? "");
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i] ?? "");
    const options: Record<string, string> = {};
    for (const opt of (open[2] ?? "").trim().split(/\s+/).filter(Boolean)) {
      const [k, v] = opt.split("=");
      options[k ?? ""] = v ?? "";
    }
    blocks.push({ kind: open[1] ?? "", options, body: body.join("\n"), line: start + 1 });
  }
  return blocks;
}

/** GitHub's heading anchors for the ASCII headings the guide uses. */
function anchors(markdown: string): string[] {
  const out: string[] = [];
  let inFence = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) inFence = !inFence;
    const h = inFence ? null : /^#{1,6} (.*)$/.exec(line);
    if (h) {
      out.push(
        (h[1] ?? "")
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 _-]/g, "")
          .replace(/ /g, "-"),
      );
    }
  }
  return out;
}

function now(block: Block): Date {
  return new Date((block.options.today ?? DEFAULT_TODAY) + "T12:00:00Z");
}

/** `DATA → EXPECTATION`, one per non-blank line. */
function caseLines(block: Block): { data: string; expectation: string; line: number }[] {
  return block.body
    .split("\n")
    .map((text, i) => ({ text, line: block.line + 1 + i }))
    .filter((l) => l.text.trim() !== "")
    .map((l) => {
      const at = l.text.indexOf(" → ");
      if (at < 0) throw new Error(`docs/language.md:${l.line}: a case line needs " → "`);
      return { data: l.text.slice(0, at).trim(), expectation: l.text.slice(at + 3).trim(), line: l.line };
    });
}

function checkCase(res: PolicyResponse, expectation: string, where: string): void {
  const error = /^error: (.*)$/.exec(expectation);
  if (error) {
    expect(res.error, where).not.toBeNull();
    expect(res.error?.startsWith(error[1] ?? ""), `${where}: error ${JSON.stringify(res.error)}`).toBe(true);
    expect(res.result, where).toBe(false);
    return;
  }
  const ok = /^(true|false)(?:, labels (.*))?$/.exec(expectation);
  if (!ok) throw new Error(`${where}: cannot read the expectation "${expectation}"`);
  expect(res.error, where).toBeNull();
  expect(res.result, where).toBe(ok[1] === "true");
  if (ok[2] !== undefined) expect(res.labels, where).toEqual(JSON.parse(ok[2]));
}

const blocks = fencedBlocks(GUIDE);
const KNOWN = new Set(["policy", "cases", "response", "outcome-keys", "flow", "flow-cases", "text"]);

describe("docs/language.md examples", () => {
  let policy: { text: string; line: number } | null = null;
  let flow: { text: string; line: number } | null = null;
  const stored = new Map<string, string>();

  for (const block of blocks) {
    const where = `docs/language.md:${block.line}`;
    switch (block.kind) {
      case "policy":
        policy = { text: block.body, line: block.line };
        if (block.options.id !== undefined) stored.set(block.options.id, block.body);
        break;
      case "cases": {
        const p = policy;
        it(`${where} cases of the policy at line ${String(p?.line)}`, () => {
          if (!p) throw new Error(`${where}: cases before any policy`);
          for (const c of caseLines(block)) {
            checkCase(runPolicy(p.text, JSON.parse(c.data), { now: now(block) }), c.expectation, `docs/language.md:${c.line}`);
          }
        });
        break;
      }
      case "response": {
        const p = policy;
        it(`${where} response of the policy at line ${String(p?.line)}`, () => {
          if (!p) throw new Error(`${where}: response before any policy`);
          const { data, response } = JSON.parse(block.body) as { data: unknown; response: Record<string, unknown> };
          const actual = runPolicy(p.text, data, { now: now(block) }) as unknown as Record<string, unknown>;
          // Every field shown is compared whole: a trace in the guide is the trace the engine produces.
          for (const [field, value] of Object.entries(response)) expect(actual[field], `${where} ${field}`).toEqual(value);
        });
        break;
      }
      case "outcome-keys":
        it(`${where} outcome keys`, () => {
          for (const c of caseLines(block)) {
            // The header alone is not a rule; any condition completes it.
            const explained = explainPolicy(`${c.data} if __x__ of **y** exists.`);
            const error = /^error: (.*)$/.exec(c.expectation);
            if (error) {
              expect("error" in explained && explained.error.startsWith(error[1] ?? ""), `docs/language.md:${c.line}`).toBe(true);
            } else {
              if ("error" in explained) throw new Error(`docs/language.md:${c.line}: ${explained.error}`);
              expect(explained.rules[0]?.outcome, `docs/language.md:${c.line}`).toBe(c.expectation);
            }
          }
        });
        break;
      case "flow":
        flow = { text: block.body, line: block.line };
        break;
      case "flow-cases": {
        const f = flow;
        const policies = new Map(stored);
        it(`${where} cases of the flow at line ${String(f?.line)}`, async () => {
          if (!f) throw new Error(`${where}: flow cases before any flow`);
          const runner: PolicyRunner = (id, data) => {
            const text = policies.get(id);
            const response = text === undefined ? null : runPolicy(text, data, { now: now(block) });
            return Promise.resolve(response && { response, databaseNs: 0n, engineNs: 0n });
          };
          for (const c of caseLines(block)) {
            const at = `docs/language.md:${c.line}`;
            const failure = /^error (\w+)(?:: (.*))?$/.exec(c.expectation);
            const outcome = failure ? null : /^(.*?)(?: via (.*))?$/.exec(c.expectation);
            let ran: Awaited<ReturnType<typeof runFlow>> | null = null;
            let thrown: unknown = null;
            try {
              ran = await runFlow(parseFlow(f.text), JSON.parse(c.data), runner);
            } catch (e) {
              thrown = e;
            }
            if (failure) {
              expect(thrown, at).toMatchObject({ name: "FlowError", code: failure[1] });
              if (failure[2] !== undefined) expect((thrown as Error).message, at).toBe(failure[2]);
            } else {
              if (thrown) throw thrown;
              expect(ran?.result, at).toEqual(JSON.parse(outcome?.[1] ?? ""));
              const via = outcome?.[2] === undefined ? [] : outcome[2].split(",").map((s) => s.trim());
              expect(
                ran?.nodeResponse.map((n) => n.nodeId),
                at,
              ).toEqual(via);
            }
          }
        });
        break;
      }
      case "text":
        break;
      default:
        it(`${where} block kind`, () => {
          throw new Error(`${where}: unknown block kind "${block.kind}" (known: ${[...KNOWN].join(", ")})`);
        });
    }
  }
});

describe("docs/language.md stays complete and citable", () => {
  const policyTexts = blocks.filter((b) => b.kind === "policy").map((b) => b.body);

  it("every policy example is checked by the block after it", () => {
    blocks.forEach((b, i) => {
      if (b.kind !== "policy" || b.options.id !== undefined) return;
      expect(["cases", "response"], `docs/language.md:${b.line}`).toContain(blocks[i + 1]?.kind);
    });
  });

  it("shows every operator phrasing the engine accepts in some example", () => {
    const verbose = policyTexts.join("\n").replace(/\s+/g, " ");
    // Conditions of shorthand rules: between `if` and `->`.
    const shorthand = policyTexts.flatMap((t) => [...t.matchAll(/\bif (.*?)->/gs)].map((m) => m[1] ?? "")).join("\n");
    for (const op of listOperators()) {
      for (const phrase of op.phrases) {
        const words = phrase.split(" … ")[0] ?? phrase;
        expect(verbose, `${op.name}: "${phrase}"`).toMatch(new RegExp(`(^|\\s)${words.replace(/ /g, "\\s+")}(?![\\w-])`));
      }
      for (const form of op.shorthand ?? []) {
        const words = form.split(" … ")[0] ?? form;
        expect(shorthand, `${op.name} shorthand "${form}"`).toContain(` ${words} `);
      }
    }
  });

  it("lists only verbs the engine strips from outcome keys", () => {
    const paragraph = /^The verbs: ([\s\S]*?)\n\n/m.exec(GUIDE)?.[1] ?? "";
    const verbs = [...paragraph.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? "");
    expect(verbs.length).toBeGreaterThan(50);
    for (const verb of verbs) {
      const explained = explainPolicy(`A **x** ${verb} the thing if __y__ of **x** exists.`);
      if ("error" in explained) throw new Error(`${verb}: ${explained.error}`);
      expect([explained.rules[0]?.verb, explained.rules[0]?.outcome], verb).toEqual([verb, "the thing"]);
    }
  });

  it("has unique headings, and every citation of it in the repository names one of them", () => {
    const own = anchors(GUIDE);
    expect(own.length).toBe(new Set(own).size);
    const cited = new Set<string>();
    for (const dir of ["src", "test", "bench", "tools", "docs", "operations"]) {
      for (const file of readdirSync(path.join(ROOT, dir), { recursive: true, encoding: "utf8" })) {
        if (file.includes("node_modules") || !/\.(ts|mjs|js|md|peggy|graphql)$/.test(file)) continue;
        const text = readFileSync(path.join(ROOT, dir, file), "utf8");
        for (const m of text.matchAll(/language\.md#([a-z0-9_-]+)/g)) cited.add(m[1] ?? "");
      }
    }
    for (const m of readFileSync(path.join(ROOT, "README.md"), "utf8").matchAll(/language\.md#([a-z0-9_-]+)/g)) {
      cited.add(m[1] ?? "");
    }
    expect(cited.size).toBeGreaterThan(0);
    for (const m of GUIDE.matchAll(/\]\(#([a-z0-9_-]+)\)/g)) expect(own, `link to #${m[1] ?? ""} in the guide`).toContain(m[1]);
    for (const anchor of cited) expect(own, `cited anchor #${anchor}`).toContain(anchor);
  });
});
