// What `opcua-ingest browse` writes, pure: the mapping skeleton around the points, one points entry
// per variable, browse-path escaping and the --point-ids CSV. No node-opcua here.
import type { SecurityMode, SecurityPolicy } from "../config/types.js";
import { ConnectorError } from "../core/errors.js";

/** One variable found by the walker, ready to be written. */
export interface BrowsedVariable {
  /** Browse path below the root, segments escaped with escapeSegment. */
  path: string;
  /** As the mapping wants it: nsu=<uri>;s=... (or i=... for namespace 0). */
  nodeId: string;
  /** DataType's browse name, with [] for arrays, e.g. "Double", "UInt64[]", "EUInformation". */
  dataType: string;
  /** EUInformation displayName of the EngineeringUnits property, if any. */
  unit?: string;
  /** AccessLevel attribute bits (CurrentRead 1, CurrentWrite 2, HistoryRead 4, HistoryWrite 8…). */
  accessLevel: number;
}

export interface SkeletonOptions {
  endpoint: string;
  securityMode: SecurityMode;
  securityPolicy: SecurityPolicy;
  user?: string;
  /** Name of the environment variable holding the OPC UA password. */
  passwordEnv: string;
  state: string;
  root: string;
  filter?: string;
  depth?: number;
  generatedAt: Date;
}

/** "/" inside a browse name is written %2F, so a path has one meaning ("%" alone stays as it is). */
export function escapeSegment(name: string): string {
  return name.replace(/\//g, "%2F");
}

const ACCESS_BITS: [number, string][] = [
  [1, "CurrentRead"], [2, "CurrentWrite"], [4, "HistoryRead"], [8, "HistoryWrite"],
  [16, "SemanticChange"], [32, "StatusWrite"], [64, "TimestampWrite"],
];

export function accessLevelText(bits: number): string {
  const names = ACCESS_BITS.filter(([bit]) => (bits & bit) !== 0).map(([, n]) => n);
  return names.length ? names.join("|") : "None";
}

/** A YAML double-quoted scalar (JSON strings are valid YAML); "${" escaped so interpolation leaves it alone. */
export function yamlString(text: string): string {
  return JSON.stringify(text.replace(/\$\{/g, () => "$${"));
}

/** Comments are one line: control characters become spaces. */
function commentText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, " ");
}

/** The placeholder pointId: never a valid one (validate reports it until it is replaced). */
export function placeholderPointId(path: string): string {
  return `TODO-${path}`;
}

export function isPlaceholderPointId(pointId: string): boolean {
  return pointId.startsWith("TODO-");
}

export function renderHeader(o: SkeletonOptions): string {
  const where = [`root ${o.root}`, o.filter ? `filter ${o.filter}` : "", o.depth ? `depth ${o.depth}` : ""].filter(Boolean).join(", ");
  const lines = [
    "# yaml-language-server: $schema=./schema.json",
    `# Written by \`opcua-ingest browse\` from ${commentText(o.endpoint)} (${commentText(where)}) at ${o.generatedAt.toISOString()}.`,
    "# Next steps:",
    "#   1. Replace every TODO-... pointId with the API's point id (or pass --point-ids FILE.csv to browse),",
    "#      and delete the points you do not want.",
    "#   2. opcua-ingest validate --config THIS_FILE            (offline: keys, ids, placeholders left)",
    "#   3. opcua-ingest validate --config THIS_FILE --online   (every node on the server: exists, readable, convertible)",
    "#   4. opcua-ingest run --config THIS_FILE",
    "# ./schema.json gives completion in editors: `opcua-ingest schema > schema.json` writes it next to this file.",
    "opcua:",
    `  endpoint: ${yamlString(o.endpoint)}`,
  ];
  if (o.securityMode !== "None") {
    lines.push(`  securityMode: ${o.securityMode}`, `  securityPolicy: ${o.securityPolicy}`);
    lines.push("  # The server's certificate must be in <state>/pki/trusted/certs (browse used the same folder).");
  }
  // Block style: in a flow mapping ({ ... }) the braces of \${VAR} would be YAML syntax.
  if (o.user !== undefined) lines.push("  user:", `    username: ${yamlString(o.user)}`, `    password: \${${o.passwordEnv}}`);
  lines.push(
    "ingest:",
    "  baseUrl: ${INGEST_BASE_URL:-https://api.bpcloud.siemens.com/ingest}",
    "  partitionId: ${PARTITION_ID}",
    "  tokenUrl: ${INGEST_TOKEN_URL:-https://siemens-bt-015.eu.auth0.com/oauth/token}",
    "  clientId: ${CLIENT_ID}",
    "  clientSecret: ${CLIENT_SECRET}",
    `state: ${yamlString(o.state)}                  # spool, dead letters, PKI; relative to this file's folder`,
    "defaults:",
    "  samplingInterval: 1s",
    "  queueSize: 10",
    "points:",
  );
  return `${lines.join("\n")}\n`;
}

/** One points entry with its comment: browse path, data type, unit, access level. */
export function renderPoint(v: BrowsedVariable, pointId: string): string {
  const facts = [v.dataType, ...(v.unit ? [`unit ${v.unit}`] : []), accessLevelText(v.accessLevel)];
  const warn = (v.accessLevel & 1) === 0 ? " (NOT READABLE: no CurrentRead)" : "";
  return `  # ${commentText(v.path)}: ${commentText(facts.join(", "))}${warn}\n  - nodeId: ${yamlString(v.nodeId)}\n    pointId: ${yamlString(pointId)}\n`;
}

/** When nothing was found the list must still be valid YAML (validate then says "lists no points"). */
export function renderEmptyPoints(): string {
  return "  []   # no variables found: check --root, --filter and --depth\n";
}

export class CsvError extends ConnectorError {
  constructor(message: string) {
    super("POINT_IDS_INVALID", message);
  }
}

/**
 * `browsePath,pointId` lines (RFC 4180 quoting: "a,b" and "" inside quotes); an optional header line
 * `browsePath,pointId`; blank lines and lines starting with # are skipped. Throws CsvError naming
 * the line.
 */
export function parsePointIdsCsv(text: string, file: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = splitCsvLine(line);
    const where = `${file}:${i + 1}`;
    if (fields === undefined) throw new CsvError(`${where}: unbalanced quotes`);
    if (i === 0 && fields[0]?.toLowerCase() === "browsepath") return;
    if (fields.length !== 2) throw new CsvError(`${where}: expected two fields, browsePath,pointId; got ${fields.length}`);
    const [rawPath, pointId] = fields.map((f) => f.trim()) as [string, string];
    const path = rawPath.replace(/^\/+/, ""); // paths are relative to the root
    if (path === "" || pointId === "") throw new CsvError(`${where}: empty browse path or pointId`);
    if (/[\s/]/.test(pointId)) throw new CsvError(`${where}: pointId ${JSON.stringify(pointId)} contains whitespace or "/"; a pointId has neither`);
    if (out.has(path)) throw new CsvError(`${where}: browse path ${path} is listed twice`);
    out.set(path, pointId);
  });
  return out;
}

function splitCsvLine(line: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      while (i < line.length && line[i] !== ",") {
        if (!/\s/.test(line[i]!)) return undefined;
        i++;
      }
    } else {
      const end = line.indexOf(",", i);
      field = end < 0 ? line.slice(i) : line.slice(i, end);
      if (field.includes('"')) return undefined;
      i = end < 0 ? line.length : end;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}
