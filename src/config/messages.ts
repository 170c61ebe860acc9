// Wording shared by every check. Values are quoted so a reader sees exactly what the file says,
// except under secret keys, whose values never appear in a message.
import { z } from "zod";
import { didYouMean } from "./suggest.js";

export type Path = readonly (string | number)[];

const SECRET_KEYS = new Set(["clientSecret", "password", "token"]);

export function isSecret(path: readonly PropertyKey[]): boolean {
  const last = path[path.length - 1];
  return typeof last === "string" && SECRET_KEYS.has(last);
}

/** The value as the reader wrote it: strings quoted, numbers and booleans bare, collections named. */
export function show(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value !== null && typeof value === "object") return "a mapping";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** What a YAML value is, in words; with the value itself unless it is a secret. */
export function describeValue(value: unknown, secret: boolean): string {
  if (value === null) return "nothing";
  if (Array.isArray(value)) return "a list";
  switch (typeof value) {
    case "string":
      return secret ? "text" : `text ${show(value)}`;
    case "number":
      return secret ? "a number" : `the number ${value}`;
    case "boolean":
      return secret ? "true or false" : String(value);
    case "object":
      return "a mapping";
    default:
      return typeof value;
  }
}

const EXPECTED: Record<string, string> = {
  string: "text",
  number: "a number",
  boolean: "true or false",
  object: "a mapping (indented key: value lines)",
  array: "a list (lines starting with - )",
};

export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const hint = didYouMean(key, allowed);
  return hint === "" ? `unknown key; allowed: ${allowed.join(", ")}` : `unknown key${hint} Allowed: ${allowed.join(", ")}`;
}

export function enumMessage(value: unknown, allowed: readonly unknown[]): string {
  const names = allowed.map(String);
  if (value === null) return `is empty; allowed: ${names.join(", ")}`;
  const hint = typeof value === "string" ? didYouMean(value, names) : "";
  return hint === ""
    ? `${show(value)} is not allowed; allowed: ${names.join(", ")}`
    : `${show(value)} is not allowed${hint} Allowed: ${names.join(", ")}`;
}

/**
 * The parse-wide error map: wording for the issues no field words itself (missing keys, wrong types,
 * enums, empty text). Unknown keys are worded later, one problem per key.
 */
export const describeIssue: z.core.$ZodErrorMap = (issue) => {
  const last = issue.path?.[issue.path.length - 1];
  switch (issue.code) {
    case "invalid_type": {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (issue.input === undefined) {
        // The field's own description (also shown by editors from the JSON Schema) says what to write.
        const description = issue.inst === undefined ? undefined : z.globalRegistry.get(issue.inst as z.ZodType)?.description;
        return `missing required key "${String(last)}" (${description ?? `expected ${expected}`})`;
      }
      if (issue.input === null) {
        // The root issue comes without a path.
        return (issue.path?.length ?? 0) === 0 ? "the file is empty; it needs opcua (or sources), ingest and points" : `is empty; expected ${expected}`;
      }
      const got = describeValue(issue.input, isSecret(issue.path ?? []));
      // YAML reads 8080, true or 1e3 as non-text; quoting is the fix users do not guess.
      const quote = issue.expected === "string" && typeof issue.input !== "object" ? "; put the value in quotes" : "";
      return `expected ${expected}, got ${got}${quote}`;
    }
    case "invalid_value":
      return enumMessage(issue.input, issue.values);
    case "too_small":
      return issue.origin === "string" ? "must not be empty" : undefined;
    default:
      return undefined;
  }
};

/** A problem before it is placed in the file. */
export interface Issue {
  path: Path;
  message: string;
}
