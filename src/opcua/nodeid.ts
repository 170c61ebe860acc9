import { resolveNodeId, type NodeId } from "node-opcua";
import { ConnectorError } from "../core/errors.js";

/** A mapping node id that cannot be used on this server (the point is reported, the others run). */
export class NodeIdError extends ConnectorError {
  constructor(message: string) {
    super("NODE_ID_UNRESOLVED", message);
  }
}

/**
 * `nsu=<uri>;...` is resolved against the server's namespace array of this session, so a server
 * restart that renumbers namespaces does not break the mapping; `ns=<index>;...` is taken as written.
 */
export function resolveMappedNodeId(text: string, namespaceArray: readonly string[]): NodeId {
  if (text.startsWith("nsu=")) {
    const sep = text.indexOf(";");
    if (sep < 0) throw new NodeIdError(`"${text}" has a namespace URI but no identifier (expected nsu=URI;s=... or ;i=...)`);
    const uri = text.slice(4, sep);
    const index = namespaceArray.indexOf(uri);
    if (index < 0) throw new NodeIdError(`namespace "${uri}" is not in the server's namespace array`);
    return resolveNodeId(`ns=${index};${text.slice(sep + 1)}`);
  }
  try {
    return resolveNodeId(text);
  } catch (err) {
    throw new NodeIdError(`"${text}" is not a valid node id: ${(err as Error).message}`);
  }
}
