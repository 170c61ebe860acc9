// The schema check, with zod's issues turned into problems a plant engineer can act on.
import type { z } from "zod";
import { describeIssue, unknownKeyMessage, type Issue, type Path } from "./messages.js";
import { asRecord } from "./raw.js";
import { mappingSchema, type RawMapping } from "./schema.js";
import { allowedKeys } from "./schema-path.js";

export function validate(raw: unknown): { data?: RawMapping; issues: Issue[] } {
  const result = mappingSchema.safeParse(raw, { error: describeIssue });
  if (result.success) return { data: result.data, issues: [] };
  return { issues: result.error.issues.flatMap((issue) => toIssues(issue, [], raw)) };
}

function toIssues(issue: z.core.$ZodIssue, prefix: Path, raw: unknown): Issue[] {
  const path = [...prefix, ...issue.path.filter((key) => typeof key !== "symbol")];
  // zod reports all unknown keys of a mapping at once; each gets its own line and suggestion.
  if (issue.code === "unrecognized_keys") {
    const allowed = allowedKeys(path);
    return issue.keys.map((key) => ({ path: [...path, key], message: unknownKeyMessage(key, allowed) }));
  }
  if (issue.code === "invalid_union" && asRecord(valueAt(raw, path)) !== undefined) {
    const inner = mappingAlternative(issue);
    if (inner !== undefined) return inner.flatMap((innerIssue) => toIssues(innerIssue, path, raw));
  }
  return [{ path, message: issue.message }];
}

/**
 * A key that takes a shorthand or a mapping (gapFill: true | { ... }) fails as a whole when the
 * mapping has a bad key. When exactly one alternative accepted the value's shape, its own issues
 * say what is wrong, at the keys that are wrong.
 */
function mappingAlternative(issue: z.core.$ZodIssueInvalidUnion): z.core.$ZodIssue[] | undefined {
  const shaped = issue.errors.filter(
    (issues) => !issues.some((inner) => inner.path.length === 0 && (inner.code === "invalid_type" || inner.code === "invalid_value")),
  );
  return shaped.length === 1 ? shaped[0] : undefined;
}

function valueAt(raw: unknown, path: Path): unknown {
  let value = raw;
  for (const key of path) value = (value as Record<string | number, unknown> | null | undefined)?.[key];
  return value;
}
