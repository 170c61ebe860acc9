// The mapping loader: everything else imports the config module from here.
export { loadMapping, parseMapping } from "./load.js";
export { MappingError, formatProblem, type MappingProblem } from "./errors.js";
export { parseDuration } from "./duration.js";
export { parseSize } from "./size.js";
export { parseNodeId, type ParsedNodeId } from "./nodeid.js";
export { mappingJsonSchema } from "./jsonschema.js";
export type * from "./types.js";
