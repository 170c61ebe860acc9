import { loadMapping } from "../config/index.js";
import { EXIT } from "./errors.js";

/** Offline checks; a MappingError propagates to the CLI, which prints every problem and exits 2. */
export function validateCommand(configFile: string): number {
  const m = loadMapping(configFile);
  console.log(`${m.file}: valid: ${m.points.length} point(s), OPC UA ${m.opcua.endpoint}, API ${m.ingest.baseUrl}, state ${m.state}`);
  return EXIT.ok;
}
