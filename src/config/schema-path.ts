// Looks up the schema of one key, to list the keys allowed beside an unknown one and to know
// whether an interpolated ${VAR} must stay text.
import { z } from "zod";
import type { Path } from "./messages.js";
import { mappingSchema } from "./schema.js";

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

function child(schema: z.ZodType, key: string | number): z.ZodType | undefined {
  if (schema instanceof z.ZodObject) return typeof key === "string" ? (schema.shape as Record<string, z.ZodType>)[key] : undefined;
  if (schema instanceof z.ZodArray) return typeof key === "number" ? (schema.element as z.ZodType) : undefined;
  if (schema instanceof z.ZodUnion) {
    for (const option of schema.options as z.ZodType[]) {
      const found = child(unwrap(option), key);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The schema of the value at `path`, without optional/default wrappers; undefined for unknown keys. */
function schemaAt(path: Path): z.ZodType | undefined {
  let current: z.ZodType | undefined = unwrap(mappingSchema);
  for (const key of path) {
    current = current === undefined ? undefined : child(current, key);
    if (current === undefined) return undefined;
    current = unwrap(current);
  }
  return current;
}

/** Keys of the mapping at `path`, in schema order; for a key that is a mapping or a shorthand (gapFill), the mapping's. */
export function allowedKeys(path: Path): string[] {
  const schema = schemaAt(path);
  const options = schema instanceof z.ZodUnion ? (schema.options as z.ZodType[]).map(unwrap) : [schema];
  const object = options.find((option) => option instanceof z.ZodObject);
  return object instanceof z.ZodObject ? Object.keys(object.shape) : [];
}

/** True when the key takes text only, so a value read from the environment must not become a number. */
export function takesTextOnly(path: Path): boolean {
  return schemaAt(path)?.def.type === "string";
}
