/**
 * The grammar's operator rules, written from the operator table (../operator-table.ts) and appended to
 * policy.peggy by build.ts: CmpOp, SetOp, TimeOp, UnaryOp (validators included), Format, BetweenKw, FormatKw,
 * PatternKw, OpStart and ShPred. Within a rule, phrases with more words are tried first, so a phrase always
 * wins over a shorter one it starts with ("is greater than or equal to" over "is greater than"); which rule is
 * tried first (unary, time, set, then compare) is policy.peggy's `Predicate`.
 */
import { BASE_OPERATOR_NAMES, FORMAT_NAMES_IN_TABLE, FORMATS, OPERATORS, type OperatorKind, type OperatorSpec } from "../operator-table.js";

interface Alternative {
  words: string[];
  /** The peggy text of the alternative. */
  text: string;
}

/** A phrase's words before its first operand (` … `). */
const wordsOf = (phrase: string): string[] => (phrase.split(" … ")[0] as string).split(" ");

/** `"is" __ "greater" __ "than" W`: whole words separated by blanks, ending at a word boundary. */
const wordsRule = (words: string[]): string => `${words.map((w) => JSON.stringify(w)).join(" __ ")} W`;

/** Longest first; the table's order among phrases of the same length. */
const longestFirst = (alternatives: Alternative[]): Alternative[] =>
  alternatives
    .map((a, i) => ({ a, i }))
    .sort((x, y) => y.a.words.length - x.a.words.length || x.i - y.i)
    .map(({ a }) => a);

const choice = (name: string, display: string | null, alternatives: string[]): string =>
  `${name}${display ? ` ${JSON.stringify(display)}` : ""}\n  = ${alternatives.join("\n  / ")}\n`;

const entries = (): [string, OperatorSpec][] => BASE_OPERATOR_NAMES.map((name) => [name, OPERATORS[name]]);
const ofKind = (kind: OperatorKind) => entries().filter(([, spec]) => spec.kind === kind);

/** A rule returning the operator's name for each of its verbose phrasings. */
function phraseRule(name: string, kind: OperatorKind, extra: Alternative[] = []): string {
  const alternatives = ofKind(kind).flatMap(([op, spec]) =>
    spec.phrases.map((phrase) => ({ words: wordsOf(phrase), text: `${wordsRule(wordsOf(phrase))} { return ${JSON.stringify(op)}; }` })),
  );
  return choice(
    name,
    "operator",
    longestFirst([...extra, ...alternatives]).map((a) => a.text),
  );
}

/** A keyword rule (no value) for the only operator of a kind. */
function keywordRule(name: string, kind: OperatorKind): string {
  const phrases = ofKind(kind).flatMap(([, spec]) => spec.phrases.map((p) => ({ words: wordsOf(p), text: wordsRule(wordsOf(p)) })));
  return choice(
    name,
    "operator",
    longestFirst(phrases).map((a) => a.text),
  );
}

function formatRule(): string {
  const alternatives = FORMAT_NAMES_IN_TABLE.flatMap((format) =>
    FORMATS[format].words.map((w) => ({ words: w.split(" "), text: `${wordsRule(w.split(" "))} { return ${JSON.stringify(format)}; }` })),
  );
  return choice(
    "Format",
    null,
    longestFirst(alternatives).map((a) => a.text),
  );
}

const isSymbol = (form: string) => !/^[a-z]/.test(form);

/** Shorthand predicates: symbols first (a longer symbol is never read as its first character), then words. */
function shorthandRule(): string {
  const forms = entries().flatMap(([op, spec]) => (spec.shorthand ?? []).map((form) => ({ op, kind: spec.kind, form })));
  const symbols = forms.filter((f) => isSymbol(f.form)).map((f) => f.form);
  const symbolAlternatives = forms
    .filter((f) => isSymbol(f.form))
    .sort((a, b) => b.form.length - a.form.length)
    .map(({ op, form }) => {
      const longer = symbols.filter((s) => s !== form && s.startsWith(form)).map((s) => `!${JSON.stringify(s.slice(form.length))}`);
      return `${JSON.stringify(form)}${longer.length ? ` ${longer.join(" ")}` : ""} _ right:ShOperand { return { op: ${JSON.stringify(op)}, right }; }`;
    });
  const wordAlternatives = forms
    .filter((f) => !isSymbol(f.form))
    .map(({ op, kind, form }) => {
      const words = wordsRule(wordsOf(form));
      const name = JSON.stringify(op);
      let text: string;
      if (kind === "unary") text = `${words} { return { op: ${name} }; }`;
      else if (kind === "range") text = `${words} _ lo:ShOperand _ "and" W _ hi:ShOperand { return { op: ${name}, right: lo, right2: hi }; }`;
      else if (kind === "compare" || kind === "set") text = `${words} _ right:ShOperand { return { op: ${name}, right }; }`;
      else throw new Error(`${op}: a ${kind} operator has no shorthand form`);
      return { words: wordsOf(form), text };
    });
  return choice("ShPred", "operator", [...symbolAlternatives, ...longestFirst(wordAlternatives).map((a) => a.text)]);
}

export function operatorRules(): string {
  const validators: Alternative[] = [
    { words: ["is", "not", "a", "valid", "*"], text: `"is" __ "not" __ "a" __ "valid" __ f:Format { return "IsNotValid" + f; }` },
    { words: ["is", "a", "valid", "*"], text: `"is" __ "a" __ "valid" __ f:Format { return "IsValid" + f; }` },
  ];
  return [
    "// ---------------------------------------------------------------------------------------------------------",
    "// Operators: written by grammar/operator-rules.ts from operator-table.ts (do not edit here; see src/engine/README.md).\n",
    phraseRule("CmpOp", "compare"),
    phraseRule("SetOp", "set"),
    phraseRule("TimeOp", "time"),
    phraseRule("UnaryOp", "unary", validators),
    formatRule(),
    keywordRule("BetweenKw", "range"),
    keywordRule("FormatKw", "format"),
    keywordRule("PatternKw", "pattern"),
    "// Used by the filler-word scan: does an operator phrase start here?",
    choice("OpStart", "operator", ["BetweenKw", "UnaryOp", "TimeOp", "SetOp", "CmpOp", "FormatKw", "PatternKw"]),
    shorthandRule(),
  ].join("\n");
}
