import { readFileSync } from "node:fs";
import type { Writable } from "node:stream";
import type { Logger } from "pino";
import { parseNodeId } from "../config/index.js";
import type { OpcuaConfig, SecurityMode, SecurityPolicy, UserIdentity } from "../config/types.js";
import type { WalkStats } from "../opcua/browse.js";
import { Glob, GlobError } from "../opcua/browse-glob.js";
import {
  CsvError, parsePointIdsCsv, placeholderPointId, renderEmptyPoints, renderHeader, renderPoint, type BrowsedVariable,
} from "../opcua/browse-render.js";
import { defineCommand } from "./command.js";
import { EXIT, UsageError } from "./errors.js";

export const browseSpec = defineCommand({
  name: "browse",
  quietLog: true,
  synopsis: "--endpoint URL [--root NODEID] [--depth N] [--filter PATTERN] [--point-ids CSV]",
  summary: "walk the address space, print a mapping skeleton (YAML)",
  description: `Walks the address space from --root along forward hierarchical references and prints a
ready-to-edit mapping on stdout: opcua and ingest sections (\${VAR} placeholders), then one points
entry per variable with nodeId written with its namespace URI (nsu=...), pointId TODO-<browse
path>, and a comment: browse path, data type, engineering unit, access level. Progress and a
summary go to stderr. The Server object (i=2253) is skipped unless it is the root. Example:
  opcua-ingest browse --endpoint opc.tcp://scada-gw:4840 --filter 'Plant/Line1/**' > plant.yaml
Exit 0; 1 when the server cannot be reached or refuses the session; 2 for bad flags or an unknown root.`,
  flags: {
    endpoint: { type: "string", arg: "URL", help: "the server, opc.tcp://host:port[/path]" },
    root: { type: "string", arg: "NODEID", default: "i=85", help: "where to start (default i=85, the Objects folder)" },
    depth: { type: "string", arg: "N", help: "levels below the root (default: no limit)" },
    filter: {
      type: "string",
      arg: "PATTERN",
      help: `glob on browse paths below the root, "/"-separated: * is one segment (or part
of one: Line*), ** any depth: Plant/Line1/**/Temperature. A match selects its
subtree. A "/" inside a browse name is written %2F.`,
    },
    "point-ids": { type: "string", arg: "CSV", help: "CSV of browsePath,pointId lines: those pointIds are filled in, the rest stay TODO-..." },
    "security-mode": { type: "string", arg: "MODE", help: "None (default), Sign, SignAndEncrypt" },
    "security-policy": { type: "string", arg: "POLICY", help: "Basic256Sha256 (default when secure), Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss" },
    user: { type: "string", arg: "NAME", help: "user name; the password is read from the environment variable OPCUA_PASSWORD\n(or the one --password-env names), never from the command line" },
    "password-env": { type: "string", arg: "VAR", default: "OPCUA_PASSWORD", help: "the environment variable with the password" },
    state: { type: "string", arg: "DIR", default: "./state", help: "PKI folder root (default ./state): the server's certificate is trusted in\nDIR/pki/trusted/certs, as for run (browse takes no lock: it only reads)" },
    "include-properties": { type: "boolean", help: "list variables reached by HasProperty (EngineeringUnits, EURange...) too" },
  },
  run: (a) =>
    browseCommand(
      {
        endpoint: a.string("endpoint"), root: a.string("root"), depth: a.string("depth"), filter: a.string("filter"), pointIds: a.string("point-ids"),
        securityMode: a.string("security-mode"), securityPolicy: a.string("security-policy"), user: a.string("user"),
        passwordEnv: a.string("password-env"), state: a.string("state"), includeProperties: a.boolean("include-properties"),
      },
      a.logger(process.stderr),
    ),
});

export interface BrowseArgs {
  endpoint?: string;
  root?: string;
  depth?: string;
  filter?: string;
  pointIds?: string;
  securityMode?: string;
  securityPolicy?: string;
  user?: string;
  /** Name of the environment variable with the password; default OPCUA_PASSWORD. */
  passwordEnv?: string;
  state?: string;
  includeProperties?: boolean;
}

export interface BrowseIo {
  out: Writable;
  err: Writable;
  env: NodeJS.ProcessEnv;
}

const MODES: SecurityMode[] = ["None", "Sign", "SignAndEncrypt"];
const POLICIES: SecurityPolicy[] = ["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"];
const PROGRESS_MS = 5_000;

/** The checked command line: everything wrong is a UsageError (exit 2) before any connection. */
export function browseSettings(a: BrowseArgs, env: NodeJS.ProcessEnv) {
  if (!a.endpoint) throw new UsageError("--endpoint URL is required, e.g. --endpoint opc.tcp://scada-gw:4840");
  if (!/^opc\.tcp:\/\/[^\s/:]+(:\d+)?(\/\S*)?$/.test(a.endpoint)) {
    throw new UsageError(`--endpoint "${a.endpoint}" is not an OPC UA endpoint; write opc.tcp://host:port[/path]`);
  }
  const root = a.root ?? "i=85";
  try {
    parseNodeId(root);
  } catch (err) {
    throw new UsageError(`--root: ${(err as Error).message}`);
  }
  let depth: number | undefined;
  if (a.depth !== undefined) {
    if (!/^\d+$/.test(a.depth) || Number(a.depth) < 1) throw new UsageError(`--depth must be a whole number of levels, 1 or more; got "${a.depth}"`);
    depth = Number(a.depth);
  }
  let filter: Glob | undefined;
  if (a.filter !== undefined) {
    try {
      filter = new Glob(a.filter);
    } catch (err) {
      if (err instanceof GlobError) throw new UsageError(err.message);
      throw err;
    }
  }
  const { securityMode, securityPolicy } = security(a.securityMode, a.securityPolicy);
  const passwordEnv = a.passwordEnv ?? "OPCUA_PASSWORD";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) throw new UsageError(`--password-env takes the NAME of an environment variable, got "${passwordEnv}"`);
  let user: UserIdentity = { kind: "anonymous" };
  if (a.user !== undefined) {
    const password = env[passwordEnv];
    if (password === undefined) {
      throw new UsageError(`--user ${a.user}: set the password in the environment variable ${passwordEnv} (never on the command line)`);
    }
    user = { kind: "username", username: a.user, password };
  }
  let pointIds: Map<string, string> | undefined;
  if (a.pointIds !== undefined) {
    let text: string;
    try {
      text = readFileSync(a.pointIds, "utf8");
    } catch (err) {
      throw new UsageError(`--point-ids ${a.pointIds}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    try {
      pointIds = parsePointIdsCsv(text, a.pointIds);
    } catch (err) {
      if (err instanceof CsvError) throw new UsageError(`--point-ids: ${err.message}`);
      throw err;
    }
  }
  const state = a.state ?? "./state";
  const opcua: OpcuaConfig = {
    endpoint: a.endpoint,
    securityMode,
    securityPolicy,
    user,
    trustServerCertificate: false,
    applicationName: "opcua-ingest", // the mapping's default: run then finds the same client certificate in state/pki
    publishingIntervalMs: 1_000,
    sessionTimeoutMs: 60_000,
    reconnectMaxDelayMs: 30_000,
  };
  return { opcua, root, depth, filter, pointIds, state, passwordEnv, user: a.user, includeProperties: a.includeProperties === true };
}

/** Mode alone → Basic256Sha256; policy alone → SignAndEncrypt; None if and only if None. */
function security(mode: string | undefined, policy: string | undefined): { securityMode: SecurityMode; securityPolicy: SecurityPolicy } {
  if (mode !== undefined && !MODES.includes(mode as SecurityMode)) throw new UsageError(`--security-mode must be one of ${MODES.join(", ")}; got "${mode}"`);
  if (policy !== undefined && !POLICIES.includes(policy as SecurityPolicy)) throw new UsageError(`--security-policy must be one of ${POLICIES.join(", ")}; got "${policy}"`);
  const m = (mode ?? (policy === undefined || policy === "None" ? "None" : "SignAndEncrypt")) as SecurityMode;
  const p = (policy ?? (m === "None" ? "None" : "Basic256Sha256")) as SecurityPolicy;
  if ((m === "None") !== (p === "None")) {
    throw new UsageError(`--security-mode ${m} with --security-policy ${p}: the policy is None if and only if the mode is None`);
  }
  return { securityMode: m, securityPolicy: p };
}

class OutputClosed extends Error {}

/** Write with back-pressure: a slow reader (a pipe, a file on a slow disk) slows the walk down instead of filling memory. */
function writer(stream: Writable): (text: string) => Promise<void> {
  let closed: Error | undefined;
  stream.on("error", (err: Error) => (closed = err));
  return async (text) => {
    if (closed) throw new OutputClosed(closed.message);
    if (stream.write(text)) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        stream.off("drain", done);
        stream.off("error", fail);
        resolve();
      };
      const fail = (err: Error) => {
        stream.off("drain", done);
        reject(new OutputClosed(err.message));
      };
      stream.on("drain", done);
      stream.once("error", fail);
    });
  };
}

const n = (x: number) => x.toLocaleString("en-US");

/**
 * `opcua-ingest browse`: a mapping skeleton on stdout, streamed as the walk goes; progress and a
 * summary on stderr. Exit 0 (even with no variables found: the summary says so), 1 when the
 * server cannot be reached or refuses the session, 2 for bad flags or an unknown root.
 */
export async function browseCommand(args: BrowseArgs, log: Logger, io: BrowseIo = { out: process.stdout, err: process.stderr, env: process.env }): Promise<number> {
  const s = browseSettings(args, io.env);
  // node-opcua loads only now: usage errors answer at once.
  const [{ walk, BrowseRootError }, { closeQuietly, createClient, openSession }] = await Promise.all([import("../opcua/browse.js"), import("../opcua/session.js")]);
  const started = performance.now();
  const write = writer(io.out);
  const note = (line: string) => io.err.write(`${line}\n`);
  const client = await createClient(s.opcua, s.state, log, { retryFirstConnect: false });
  let session;
  try {
    session = await openSession(client, s.opcua, s.state);
    const connectedMs = performance.now();
    // Written with the first points (or at the end): an unknown root leaves stdout empty.
    let header: string | undefined = renderHeader({
      endpoint: s.opcua.endpoint, securityMode: s.opcua.securityMode, securityPolicy: s.opcua.securityPolicy,
      ...(s.user !== undefined ? { user: s.user } : {}), passwordEnv: s.passwordEnv, state: s.state, root: s.root,
      ...(s.filter ? { filter: s.filter.pattern } : {}), ...(s.depth ? { depth: s.depth } : {}), generatedAt: new Date(),
    });
    const output = async (text: string) => {
      await write(header === undefined ? text : header + text);
      header = undefined;
    };
    let filled = 0;
    const used = new Set<string>();
    let lastProgress = performance.now();
    const emit = async (vars: BrowsedVariable[]) => {
      let text = "";
      for (const v of vars) {
        const id = s.pointIds?.get(v.path);
        if (id !== undefined) {
          filled++;
          used.add(v.path);
        }
        text += renderPoint(v, id ?? placeholderPointId(v.path));
      }
      await output(text);
    };
    const progress = (st: WalkStats) => {
      const now = performance.now();
      if (now - lastProgress < PROGRESS_MS) return;
      lastProgress = now;
      note(`browse: ${n(st.nodes)} nodes browsed, ${n(st.variables)} variables listed, ${((now - started) / 1000).toFixed(0)} s…`);
    };
    let stats: WalkStats;
    try {
      stats = await walk(session, { root: s.root, depth: s.depth, filter: s.filter, includeProperties: s.includeProperties, onProgress: progress }, emit);
    } catch (err) {
      if (err instanceof OutputClosed) return EXIT.ok; // the reader went away (| head): nothing more to say
      if (err instanceof BrowseRootError) throw new UsageError(err.message);
      throw err;
    }
    if (stats.variables === 0) await output(renderEmptyPoints());
    const walkSeconds = (performance.now() - connectedMs) / 1000;
    const connectSeconds = (connectedMs - started) / 1000;
    const peakMb = process.resourceUsage().maxRSS / 1024;
    note(`browse: ${n(stats.variables)} variables listed from ${n(stats.nodes)} nodes in ${walkSeconds.toFixed(1)} s, after ${connectSeconds.toFixed(1)} s to connect (${s.opcua.endpoint}, root ${s.root}${s.filter ? `, filter ${s.filter.pattern}` : ""}${s.depth ? `, depth ${s.depth}` : ""})`);
    note(`  requests: ${n(stats.browseRequests)} Browse, ${n(stats.browseNextRequests)} BrowseNext, ${n(stats.readRequests)} Read; at most ${stats.limits?.perBrowse} nodes per Browse, ${stats.limits?.perRead} per Read`);
    note(`  peak RSS ${peakMb.toFixed(0)} MB; at most ${n(stats.maxPending)} nodes waiting to be browsed`);
    if (stats.skippedServerObject) note("  the Server object (i=2253) was not walked: --root i=2253 lists its diagnostics variables");
    if (stats.unbrowsable > 0) note(`  ${n(stats.unbrowsable)} node(s) could not be browsed; first: ${stats.firstUnbrowsable}`);
    if (stats.variables === 0) note("  no variables found: check --root, --filter (paths are relative to the root, e.g. Plant/Line1/**) and --depth");
    if (s.pointIds) {
      const missing = [...s.pointIds.keys()].filter((p) => !used.has(p));
      note(`  --point-ids: ${n(filled)} pointId(s) filled in, ${n(stats.variables - filled)} left as TODO-…`);
      if (missing.length > 0) {
        note(`  ${n(missing.length)} browse path(s) of --point-ids were not found: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}`);
      }
    }
    if (stats.variables > filled) note("Next: replace the TODO-… pointIds (or delete those points), then: opcua-ingest validate --config FILE --online");
    return EXIT.ok;
  } finally {
    await closeQuietly(client, session);
  }
}
