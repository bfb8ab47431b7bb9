/**
 * The parse tree produced by `grammar/policy.peggy`. Plain data, built once per policy text; `compile.ts` turns
 * it into closures. Every expression keeps its source text (whitespace collapsed) because the trace reports
 * non-path operands by their text (docs/language.md#property-paths, #rendered-values).
 */

export interface Span {
  line: number;
  column: number;
  offset: number;
  endOffset: number;
}

export interface PolicyAst {
  items: ItemAst[];
}

export type ItemAst = ComputedDefAst | RuleAst;

export interface ComputedDefAst {
  kind: "computed";
  name: string;
  expr: ExprAst;
  loc: Span;
}

export interface RuleAst {
  kind: "rule";
  style: "verbose" | "shorthand";
  label: string | null;
  selector: string;
  outcome: string;
  verb: string | null;
  conds: CondItemAst[];
  loc: Span;
}

export interface CondItemAst {
  cond: CondAst;
  connector: "and" | "or" | null;
  optional: boolean;
}

export type CondAst = CmpAst | BlockAst | GroupAst | LabelRefAst | OutcomeRefAst | NotAst;

export interface CmpAst {
  kind: "cmp";
  quant: "any" | "all" | null;
  left: ExprAst;
  pred: PredicateAst;
  shorthand: boolean;
}

export interface BlockAst {
  kind: "block";
  quant: "any" | "all";
  access: AccessAst;
  elems: CondItemAst[];
}

export interface GroupAst {
  kind: "group";
  list: CondItemAst[];
}

export interface LabelRefAst {
  kind: "label";
  name: string;
  predicate: string | null;
  negated: boolean;
}

export interface OutcomeRefAst {
  kind: "oref";
  selector: string;
  name: string;
}

export interface NotAst {
  kind: "not";
  cond: CondAst;
}

export interface PredicateAst {
  op: string;
  right?: ExprAst;
  right2?: ExprAst;
  anchor?: ExprAst | null;
  /** HasFormat / MatchesPattern literal. */
  text?: string;
  loc?: Span;
  /** Shorthand path alone: `a` means `a == true`. */
  implicit?: boolean;
}

export type ExprAst =
  | NumAst
  | StrAst
  | BoolAst
  | DateAst
  | DurationAst
  | ListAst
  | AccessAst
  | ComputedRefAst
  | BinAst
  | ArithAst
  | NegAst
  | FnAst
  | MeasureAst;

interface Texted {
  text: string;
  paren?: boolean;
}

export interface NumAst extends Texted {
  kind: "num";
  value: number;
}
export interface StrAst extends Texted {
  kind: "str";
  value: string;
}
export interface BoolAst extends Texted {
  kind: "bool";
  value: boolean;
}
export interface DateAst extends Texted {
  kind: "date";
  /** Canonical `YYYY-MM-DD`. */
  value: string;
  day: number;
}
export interface DurationAst extends Texted {
  kind: "dur";
  amount: number;
  unit: string;
  seconds: number;
}
export type LiteralAst = NumAst | StrAst | BoolAst | DateAst | DurationAst;
export interface ListAst extends Texted {
  kind: "list";
  items: LiteralAst[];
}

export interface LinkAst {
  name: string;
  /** `path` = a shorthand PATH (`a.b.c`, first segment is the top-level key). */
  marker: "property" | "selector" | "path";
  its: boolean;
}
export interface ChainAst {
  links: LinkAst[];
}
export interface AccessAst extends Texted {
  kind: "access";
  chains: ChainAst[];
}
export interface ComputedRefAst extends Texted {
  kind: "cref";
  name: string;
  loc: Span;
}
export interface BinAst extends Texted {
  kind: "bin";
  op: { op: "+" | "-" | "*" | "/" | "%" | "^"; text: string };
  l: ExprAst;
  r: ExprAst;
}
export type ArithOp = { op: "+" | "-" | "*" | "/" | "%" | "^"; text: string };
/** A left-associative run of operators of one precedence level: `head op1 e1 op2 e2 …`. */
export interface ArithAst extends Texted {
  kind: "arith";
  head: ExprAst;
  rest: { op: ArithOp; e: ExprAst }[];
}
export interface NegAst extends Texted {
  kind: "neg";
  e: ExprAst;
}
export interface FnAst extends Texted {
  kind: "fn";
  name: string;
  args: ExprAst[];
}
export interface MeasureAst extends Texted {
  kind: "measure";
  measure: string;
  access: AccessAst;
}
