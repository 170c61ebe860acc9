// The schema check, with zod's issues turned into problems a plant engineer can act on.
import { describeIssue, unknownKeyMessage, type Issue } from "./messages.js";
import { mappingSchema, type RawMapping } from "./schema.js";
import { allowedKeys } from "./schema-path.js";

export function validate(raw: unknown): { data?: RawMapping; issues: Issue[] } {
  const result = mappingSchema.safeParse(raw, { error: describeIssue });
  if (result.success) return { data: result.data, issues: [] };
  const issues = result.error.issues.flatMap((issue): Issue[] => {
    const path = issue.path.filter((key) => typeof key !== "symbol");
    // zod reports all unknown keys of a mapping at once; each gets its own line and suggestion.
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeys(path);
      return issue.keys.map((key) => ({ path: [...path, key], message: unknownKeyMessage(key, allowed) }));
    }
    return [{ path, message: issue.message }];
  });
  return { issues };
}
