// The JSON Schema of the mapping file, for editors (mappings/schema.json). Draft 7 because that is
// what the common YAML language servers understand fully.
import { z } from "zod";
import { mappingSchema } from "./schema.js";

type JsonSchema = Record<string, unknown>;

// Any key may be written as ${VAR}; without this an editor would flag `maxValues: ${N}` and
// `endpoint: ${OPCUA_ENDPOINT}`, which the loader accepts.
const ENV_REFERENCE: JsonSchema = {
  type: "string",
  pattern: "^\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}$",
  description: "Read from the environment: ${NAME} or ${NAME:-default}",
};

// Kept on the key itself so editors show them whichever alternative applies.
const SHARED = new Set(["description", "default"]);

export function mappingJsonSchema(): object {
  // "input": the file as written, so keys with defaults are optional and durations are text.
  const schema = z.toJSONSchema(mappingSchema, { io: "input", target: "draft-07" }) as JsonSchema;
  admitEnvReferences(schema);
  // One of the two ways to name the servers (a rule of rules.ts, which zod's per-key schema cannot say).
  schema.oneOf = [{ required: ["opcua"] }, { required: ["sources"] }];
  return schema;
}

function admitEnvReferences(schema: JsonSchema): void {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const property of Object.values(properties)) {
    if (property.type === "object") {
      admitEnvReferences(property);
    } else if (property.type === "array") {
      admitEnvReferences(property.items as JsonSchema);
    } else if (Array.isArray(property.anyOf)) {
      // zod may hand out one object for a schema used twice (defaults and points); admit once.
      if (property.anyOf.includes(ENV_REFERENCE)) continue;
      // The keys of a mapping alternative (gapFill: { maxWindow }, deadband: { absolute }) admit them too.
      for (const option of property.anyOf as JsonSchema[]) if (option.type === "object") admitEnvReferences(option);
      property.anyOf.push(ENV_REFERENCE);
    } else if (!(property.type === "string" && property.pattern === undefined && property.enum === undefined)) {
      const alternative: JsonSchema = {};
      for (const [key, value] of Object.entries(property)) {
        if (SHARED.has(key)) continue;
        alternative[key] = value;
        delete property[key];
      }
      property.anyOf = [alternative, ENV_REFERENCE];
    }
  }
}
