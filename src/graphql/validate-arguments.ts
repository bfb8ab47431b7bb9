import { validate, type ValidationError } from "class-validator";
import { getNamedType, GraphQLScalarType } from "graphql";
import type { ResolverData, ValidatorFn } from "type-graphql";
import { DomainError, DomainErrorCode } from "../errors/domain-error.js";

/** One invalid field of a request, by its path from the argument (`input.tests.0.name`). */
export interface InvalidField {
  field: string;
  problems: string[];
}

/**
 * NUL (which Postgres text and jsonb cannot hold) and UTF-16 surrogates without their pair (which are not
 * characters at all, and cannot be encoded as UTF-8).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is this pattern's job.
const UNSTORABLE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_PROBLEM = "must not contain NUL characters or unpaired UTF-16 surrogates";

/**
 * Every GraphQL argument passes here before a resolver sees it (type-graphql's `validateFn`): the one place where
 * input enters. It refuses unstorable text anywhere in an argument — names, contents, descriptions, tests, input
 * schemas (keys too), key names, listing filters — and checks input classes with their class-validator
 * decorators. Either failure is BAD_USER_INPUT whose `extensions.details.fields` names each invalid field.
 *
 * Arguments that *are* JSON values (`data` of the runs) are run input, never stored as text: they pass as sent,
 * as on the REST routes. JSON inside input objects (stored tests, input schemas) is checked like any text.
 */
export const validateArguments: ValidatorFn = async (value, type, resolverData) => {
  if (value === undefined || value === null || (type instanceof GraphQLScalarType && isJsonScalar(type))) return;
  const name = argumentName(value, type, resolverData);
  const invalid = unstorableText(value, name);
  for (const instance of Array.isArray(value) ? value.map((item, i) => [item, `${name}.${i}`] as const) : [[value, name] as const]) {
    if (!isInputClassInstance(instance[0])) continue;
    invalid.push(...flatten(await validate(instance[0], { skipMissingProperties: true, forbidUnknownValues: false }), instance[1]));
  }
  if (invalid.length === 0) return;
  const fields = mergeByField(invalid);
  const message = fields.map(({ field, problems }) => `${field || "arguments"}: ${problems.join(", ")}`).join("; ");
  throw new DomainError(DomainErrorCode.InvalidInput, message, { field: fields[0]!.field, fields });
};

const isJsonScalar = (type: GraphQLScalarType) => type.name === "JSON" || type.name === "JSONObject";

/**
 * type-graphql hands over the converted value without its argument's name: a scalar is the value sent, an input
 * object an instance of its class (matched by the argument's type). An @Args() class matches no argument: its
 * fields are the arguments themselves, so paths start at them.
 */
function argumentName(value: unknown, type: unknown, { args, info }: ResolverData): string {
  const definitions = info.parentType.getFields()[info.fieldName]?.args ?? [];
  for (const definition of definitions) if (args[definition.name] === value) return definition.name;
  if (typeof type === "function") {
    const match = definitions.find((d) => getNamedType(d.type).name === type.name);
    if (match) return match.name;
  }
  return "";
}

/** Input objects reach validation as instances of their type-graphql classes; JSON values have no such class. */
const isInputClassInstance = (value: unknown): value is object => {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype !== null && prototype !== Object.prototype;
};

const join = (path: string, key: string | number) => (path === "" ? String(key) : `${path}.${key}`);

/** Walks without recursion, so hostile nesting cannot overflow the stack (JSON scalars bound depth anyway). */
function unstorableText(value: unknown, root: string): InvalidField[] {
  const invalid: InvalidField[] = [];
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (typeof current === "string") {
      if (UNSTORABLE_TEXT.test(current)) invalid.push({ field: path, problems: [UNSTORABLE_PROBLEM] });
    } else if (Array.isArray(current)) {
      for (const [i, item] of current.entries()) stack.push([item, join(path, i)]);
    } else if (current !== null && typeof current === "object" && !(current instanceof Date)) {
      for (const [key, child] of Object.entries(current)) {
        if (UNSTORABLE_TEXT.test(key)) invalid.push({ field: join(path, key), problems: [`its name ${UNSTORABLE_PROBLEM}`] });
        stack.push([child, join(path, key)]);
      }
    }
  }
  return invalid;
}

function flatten(errors: ValidationError[], path: string): InvalidField[] {
  return errors.flatMap((error) => {
    const field = join(path, error.property);
    const own = error.constraints ? [{ field, problems: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

function mergeByField(invalid: InvalidField[]): InvalidField[] {
  const byField = new Map<string, string[]>();
  for (const { field, problems } of invalid) byField.set(field, [...(byField.get(field) ?? []), ...problems]);
  return [...byField].map(([field, problems]) => ({ field, problems }));
}
