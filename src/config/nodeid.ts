// OPC UA node ids in their string form (Part 6, 5.3.1.10): [ns=<index>;|nsu=<uri>;]<i|s|g|b>=<identifier>.
// Checked here so a typo is reported with its line instead of as a failed subscription at run time.

export interface ParsedNodeId {
  namespace: { index: number } | { uri: string };
  identifierType: "i" | "s" | "g" | "b";
  identifier: string;
}

const TYPES = "i= (numeric), s= (string), g= (GUID) or b= (opaque, base64)";
const UINT16_MAX = 65_535;
const UINT32_MAX = 4_294_967_295;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Throws an Error naming the part that is wrong and how to write it. */
export function parseNodeId(text: string): ParsedNodeId {
  const trimmed = text.trim();
  if (trimmed === "") throw new Error("node id is empty; write e.g. ns=3;s=Boiler1.Temperature or i=2258");
  const fail = (why: string) => new Error(`${JSON.stringify(trimmed)} is not a node id: ${why}`);

  let namespace: ParsedNodeId["namespace"] = { index: 0 };
  let prefix = "";
  let rest = trimmed;
  const ns = /^(nsu?)=([^;]*)(;?)/.exec(trimmed);
  if (ns !== null) {
    const [whole, key, value = "", semicolon] = ns;
    if (semicolon === "") throw fail(`nothing follows the namespace; add the identifier, e.g. ${key}=${value};s=Tag`);
    if (key === "ns") {
      if (!/^\d+$/.test(value) || Number(value) > UINT16_MAX) {
        throw fail(`namespace index "${value}" must be a whole number from 0 to ${UINT16_MAX}`);
      }
      namespace = { index: Number(value) };
    } else {
      if (value === "") throw fail("the namespace URI after nsu= is empty");
      namespace = { uri: value };
    }
    prefix = whole;
    rest = trimmed.slice(whole.length);
  }

  const typed = /^([^=]*)=(.*)$/s.exec(rest);
  if (typed === null) {
    const example = prefix === "" ? `ns=<index>;s=${rest}` : `${prefix}s=${rest}`;
    throw fail(`the identifier type is missing; write e.g. ${example} (identifier types: ${TYPES})`);
  }
  const [, type = "", identifier = ""] = typed;
  switch (type) {
    case "i":
      if (!/^\d+$/.test(identifier) || Number(identifier) > UINT32_MAX) {
        throw fail(`numeric identifier "${identifier}" must be a whole number from 0 to ${UINT32_MAX}`);
      }
      break;
    case "s":
      if (identifier === "") throw fail("the string identifier after s= is empty");
      break;
    case "g":
      if (!GUID.test(identifier)) {
        throw fail(`GUID identifier "${identifier}" must be 8-4-4-4-12 hex digits, e.g. 72962b91-fa75-4ae6-8d28-b404dc7daf63`);
      }
      break;
    case "b":
      if (identifier === "" || !BASE64.test(identifier)) throw fail(`opaque identifier "${identifier}" is not base64`);
      break;
    default: {
      const lower = type.toLowerCase();
      if (["ns", "nsu", "i", "s", "g", "b"].includes(lower)) throw fail(`"${type}=" must be written in lower case: "${lower}="`);
      throw fail(`unknown identifier type "${type}="; use ${TYPES}`);
    }
  }
  return { namespace, identifierType: type, identifier };
}
