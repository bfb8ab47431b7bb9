/**
 * Loads a flow definition from YAML text (docs/language.md#flow-definition).
 *
 * The text is untrusted. The `yaml` package never executes anything, but it must still be kept from
 * exhausting the process. Trials on 1 MB texts: `[[[[…` nested 100 000 deep took the process down; a million
 * tiny flow collections took 3.5 s and 850 MB; 60 000 keys in one mapping took 36 s in the package's
 * duplicate-key check, which compares every key with every earlier one. So: a size bound; a cheap lexer pass
 * that bounds nesting and the number of YAML nodes before the real parse; a linear duplicate-key check of our
 * own; an alias bound; the plain YAML 1.2 core schema (no merge keys, no YAML 1.1 tags, no custom tags; an
 * unknown tag is an error) and string-only mapping keys.
 */
import { CST, Lexer, type Document, isScalar, parseAllDocuments, visit } from "yaml";
import { invalidYamlError } from "./errors.js";
import type { FlowDefinition } from "./types.js";
import { validateFlowDefinition } from "./validate.js";

export const YAML_LIMITS = Object.freeze({
  /** Characters of YAML text. */
  maxLength: 1_048_576,
  /** Upper bound on collection nesting, measured as described in `withinYamlBudget`. */
  maxNesting: 1000,
  /** YAML nodes (scalars, collections, entries); a 1,000-node flow with every field set needs about 25,000. */
  maxYamlNodes: 100_000,
  /** Alias expansions (`*name`) when building the value. */
  maxAliasCount: 100,
});

/**
 * True when the YAML stays within the node and nesting budgets. Block collections nest only by indenting further
 * or by a compact indicator (`- - x`, `- a: b`) on the same line, and flow collections by brackets, so
 * indentation + indicators on the line + open brackets bounds the depth at every token. Scalars (including
 * quoted ones holding brackets) are single tokens and do not count.
 */
function withinYamlBudget(text: string): boolean {
  let yamlNodes = 0;
  let flowDepth = 0;
  let lineDepth = 0;
  let atLineStart = true;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    switch (type) {
      case "newline":
        // The lexer also emits "" (typed as a newline) at the end of input; only a real line break resets.
        if (token !== "") {
          lineDepth = 0;
          atLineStart = true;
        }
        continue;
      case "space":
        if (atLineStart) lineDepth += token.length;
        continue;
      case "byte-order-mark":
      case "doc-mode":
        // Markers without text: they do not end a line's indentation.
        continue;
      case "seq-item-ind":
      case "explicit-key-ind":
      case "map-value-ind":
        lineDepth++;
        yamlNodes++;
        break;
      case "flow-map-start":
      case "flow-seq-start":
        flowDepth++;
        yamlNodes++;
        break;
      case "scalar":
      case "single-quoted-scalar":
      case "double-quoted-scalar":
      case "block-scalar-header":
      case "alias":
      case "comma":
        yamlNodes++;
        break;
      case "flow-map-end":
      case "flow-seq-end":
        if (flowDepth > 0) flowDepth--;
        break;
      default:
        break;
    }
    atLineStart = false;
    if (flowDepth + lineDepth > YAML_LIMITS.maxNesting || yamlNodes > YAML_LIMITS.maxYamlNodes) return false;
  }
  return true;
}

/** Duplicate keys in any mapping, in linear time (keys compare as the strings they become in the object). */
function hasDuplicateKeys(doc: Document): boolean {
  let duplicate = false;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const { key } of map.items) {
        const text = isScalar(key) ? String(key.value) : null;
        if (text === null || seen.has(text)) {
          duplicate = true;
          return visit.BREAK;
        }
        seen.add(text);
      }
      return undefined;
    },
  });
  return duplicate;
}

export function parseFlow(yamlText: string): FlowDefinition {
  if (typeof yamlText !== "string" || yamlText.length > YAML_LIMITS.maxLength) throw invalidYamlError();
  let value: unknown;
  try {
    if (!withinYamlBudget(yamlText)) throw invalidYamlError();
    const docs = parseAllDocuments(yamlText, {
      schema: "core",
      merge: false,
      resolveKnownTags: false,
      uniqueKeys: false, // checked by hasDuplicateKeys
      stringKeys: true,
      strict: true,
      prettyErrors: false,
      logLevel: "silent",
    });
    // parseAllDocuments returns an EmptyStream (an array) for text without documents.
    if (docs.length > 1) throw invalidYamlError();
    const doc = docs[0];
    if (doc === undefined) {
      value = null;
    } else {
      // Warnings are unresolved tags here; a flow has no use for them, and silently reading them as strings
      // would hide authoring mistakes.
      if (doc.errors.length > 0 || doc.warnings.length > 0 || hasDuplicateKeys(doc)) throw invalidYamlError();
      value = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
    }
  } catch {
    // Includes the alias-count ReferenceError and any RangeError from a pathological document.
    throw invalidYamlError();
  }
  return validateFlowDefinition(value);
}
