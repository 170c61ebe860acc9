import { mappingJsonSchema } from "../config/index.js";
import { defineCommand } from "./command.js";
import { EXIT } from "./errors.js";

export const schemaSpec = defineCommand({
  name: "schema",
  synopsis: "",
  summary: "print the mapping's JSON Schema (mappings/schema.json)",
  description: `Prints the JSON Schema of the mapping file on stdout: editors with a YAML language server use it
for completion and checks (# yaml-language-server: $schema=./schema.json). npm run schema writes
mappings/schema.json with it.`,
  flags: {},
  run: () => {
    process.stdout.write(`${JSON.stringify(mappingJsonSchema(), null, 2)}\n`);
    return EXIT.ok;
  },
});
