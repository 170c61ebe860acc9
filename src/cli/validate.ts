import type { Logger } from "pino";
import { loadMapping, MappingError, type MappingProblem } from "../config/index.js";
import type { Mapping } from "../config/types.js";
import { isPlaceholderPointId } from "../opcua/browse-render.js";
import { defineCommand } from "./command.js";
import { EXIT } from "./errors.js";

export const validateSpec = defineCommand({
  name: "validate",
  quietLog: true,
  synopsis: "--config FILE [--online]",
  summary: "check a mapping; exit 2 with every problem listed",
  description: `Checks the mapping offline: schema, ranges, durations, node id syntax, duplicates, environment
variables, TODO-... pointIds left by browse. Prints every problem as
FILE:LINE:COLUMN: KEY: what is wrong; what is allowed. Exit 0 or 2.

--online also connects with the mapping's opcua settings and checks every point on the server, in
batches within its operation limits: the node exists (nsu= resolved), is a Variable, is readable
(AccessLevel and UserAccessLevel with CurrentRead; HistoryRead when gapFill.enabled is true), its
data type converts to the API's string (structures and arrays need structured: json), and its
MinimumSamplingInterval is not slower than the point's samplingInterval (a warning). Prints a table
POINT ID, NODE ID, LINE, PROBLEM. Exit 2 if any error, 0 with warnings only, 1 if the server
cannot be reached or refuses the session. Takes no lock: it runs beside a running connector.`,
  flags: {
    config: { type: "string", short: "c", arg: "FILE", help: "the mapping YAML" },
    online: { type: "boolean", help: "also check every node on the OPC UA server" },
  },
  run: (a) => validateCommand(a.required("config", "the mapping YAML"), { online: a.boolean("online"), log: a.logger(process.stderr) }),
});

export interface ValidateOptions {
  /** Also check every node on the server (validate --online). */
  online?: boolean;
  log?: Logger;
  out?: (line: string) => void;
}

const PLACEHOLDER = "still the placeholder written by browse: replace it with the API's point id (no whitespace, no /), or delete the point";

/**
 * Offline checks; a MappingError propagates to the CLI, which prints every problem and exits 2.
 * `TODO-…` pointIds left from `opcua-ingest browse` are problems too. With `online`, every node is
 * then checked on the server: a table of findings by pointId, exit 2 when any is an error.
 */
export async function validateCommand(configFile: string, opts: ValidateOptions = {}): Promise<number> {
  const out = opts.out ?? ((line: string) => console.log(line));
  const m = loadWithPlaceholders(configFile);
  if (!opts.online) {
    out(`${m.file}: valid: ${m.points.length} point(s), OPC UA ${m.sources.map((x) => x.endpoint).join(", ")}, API ${m.ingest.baseUrl}, state ${m.state}`);
    return EXIT.ok;
  }
  const { inspectMapping } = await import("../opcua/inspect.js");
  const { createLogger } = await import("../ops/logger.js");
  const started = performance.now();
  const report = await inspectMapping(m, opts.log ?? createLogger("warn", process.stderr));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const errors = report.findings.filter((f) => f.severity === "error").length;
  const warnings = report.findings.length - errors;
  if (report.findings.length > 0) for (const line of findingsTable(report.findings)) out(line);
  out(
    `${m.file}: ${report.checked} point(s) checked on ${m.sources.map((x) => x.endpoint).join(", ")} in ${seconds} s (${report.readRequests} Read requests of at most ${report.perRead} operations): ` +
      `${errors} error(s), ${warnings} warning(s)`,
  );
  if (errors > 0) out("Fix or remove the points marked error (by line above), then run validate --online again.");
  return errors > 0 ? EXIT.usage : EXIT.ok;
}

/** Like loadMapping, with the browse placeholders named as such instead of as a bad pointId. */
function loadWithPlaceholders(configFile: string): Mapping {
  let m: Mapping;
  try {
    m = loadMapping(configFile);
  } catch (err) {
    if (!(err instanceof MappingError)) throw err;
    // A TODO-Plant/Line1/... placeholder fails the schema ("/" in a pointId): say what it is.
    const problems = err.problems.map((p): MappingProblem =>
      /^points\[\d+\]\.pointId$/.test(p.key) && /"TODO-/.test(p.message) ? { ...p, message: PLACEHOLDER } : p,
    );
    throw new MappingError(problems);
  }
  const left = m.points.flatMap((p, i): MappingProblem[] =>
    isPlaceholderPointId(p.pointId) ? [{ file: configFile, line: p.line, column: 5, key: `points[${i}].pointId`, message: PLACEHOLDER }] : [],
  );
  if (left.length > 0) throw new MappingError(left);
  return m;
}

/** pointId, nodeId, mapping line, problem: aligned columns, one finding per line. */
export function findingsTable(findings: { pointId: string; nodeId: string; line: number; severity: string; message: string }[]): string[] {
  const width = (values: string[], header: string, max: number) => Math.min(max, Math.max(header.length, ...values.map((v) => v.length)));
  const wId = width(findings.map((f) => f.pointId), "POINT ID", 40);
  const wNode = width(findings.map((f) => f.nodeId), "NODE ID", 100);
  const wLine = width(findings.map((f) => String(f.line)), "LINE", 6);
  const row = (id: string, node: string, line: string, problem: string) => `${id.padEnd(wId)}  ${node.padEnd(wNode)}  ${line.padStart(wLine)}  ${problem}`;
  return [
    row("POINT ID", "NODE ID", "LINE", "PROBLEM"),
    ...findings.map((f) => row(f.pointId, f.nodeId, String(f.line), `${f.severity}: ${f.message}`.replace(/\r?\n/g, " "))),
  ];
}
