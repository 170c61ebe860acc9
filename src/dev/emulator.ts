/**
 * A strict local emulator of the Point Value Ingest API (see shared/api/INGEST-API.md), on node:http only.
 * Users dry-run a mapping against it and e2e tests verify the connector with it, so it rejects everything
 * the real API would and, where the real API is not documented, is stricter rather than more lenient.
 *
 *   POST /oauth/token                                        client-credentials grant (JSON body)
 *   POST /ingest/partitions/{p}/points/{id}/values[?overwrite=true|false]
 *   GET  /ingest/partitions/{p}/points/{id}/values?filter[timestamp][from|to]=…&page[limit]=…&page[cursor]=…
 *   GET  /_emulator/stats · POST|DELETE /_emulator/faults · GET /_emulator/values?partition=P&point=ID  (no token)
 *
 * 202 Accepted body — the real field name is unpublished; this emulator answers
 *     {"meta": {"conflicts": [2]}}
 * with the 0-based indices of the dropped values. `meta` because JSON:API reserves a top-level `data`
 * for resource objects; clients must parse it defensively anyway.
 *
 * Strict where the documentation is silent: Content-Type must be exactly application/vnd.api+json (JSON:API
 * answers 415 to media type parameters), timestamps need upper-case T and Z, leap seconds and years outside
 * 0000..9999 are rejected, and unknown members, unknown or repeated query parameters are 400s.
 * The values POST checks run in this order: fault, 401, 406, 415, 404 (knownPoints), 400 (query), 413, 400 (body).
 */

import { randomUUID } from "node:crypto";
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FaultQueue, faultProblem, type Fault } from "./emulator-faults.js";
import { LatencyHistogram, type LatencySummary } from "./emulator-latency.js";
import { EmulatorStore, toStoredValue, type StoredValue } from "./emulator-store.js";
import { parseTarget, plainValuesTarget, valuesTarget, type ValuesTarget } from "./emulator-target.js";
import { TokenAuthority } from "./emulator-token.js";
import {
  JSON_API,
  acceptsJsonApi,
  checkOverwrite,
  checkPageQuery,
  checkValuesDocument,
  encodeCursor,
  isJsonApiContentType,
  isObject,
  type Problem,
  type ValueItem,
} from "./emulator-validate.js";
import { ScannedValues, scanValues } from "./emulator-values-scan.js";

export type { Fault } from "./emulator-faults.js";
export type { StoredValue } from "./emulator-store.js";
export type { LatencySummary } from "./emulator-latency.js";
export { EmulatorStore } from "./emulator-store.js";

export interface EmulatorOptions {
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Default "demo-client". */
  clientId?: string;
  /** Default "demo-secret". */
  clientSecret?: string;
  /** Default "https://horizon.siemens.com". */
  audience?: string;
  /** `expires_in` of issued tokens; default 86400. */
  tokenLifetimeS?: number;
  /** Delay before answering each values POST; default 0. */
  latencyMs?: number;
  /** When given, values requests for any other pointId are answered 404; otherwise any pointId exists. */
  knownPoints?: Iterable<string>;
  /** Receives one human-readable line per answered request. */
  log?: (line: string) => void;
  /** Epoch-millisecond clock that decides token expiry; default Date.now, injectable so tests need not wait. */
  now?: () => number;
  /** Keep the stored values of an earlier emulator: a test stops the API and starts it again. */
  store?: EmulatorStore;
}

export interface EmulatorStats {
  tokensIssued: number;
  tokenRequests: number;
  /** Values POSTs received, including those answered by a fault or a reset. */
  requests: number;
  /** Answers to values POSTs by status, e.g. { "204": 3, "202": 1, "401": 1 }; resets have no status. */
  byStatus: Record<string, number>;
  /** Values in accepted requests: valuesStored + conflicts. */
  valuesReceived: number;
  /** Values written (new, or replacing with overwrite=true). */
  valuesStored: number;
  /** Values dropped because their millisecond was taken. */
  conflicts: number;
  maxValuesInRequest: number;
  /** Accepted timestamps that were not exactly YYYY-MM-DDTHH:mm:ss.sssZ (offsets, other precisions). */
  nonCanonicalTimestamps: number;
  /**
   * Age of each stored value when it was stored: receive time minus the value's timestamp, in ms.
   * For live data stamped with this machine's clock it is the latency from the source timestamp to
   * the acknowledgement (the benchmark reads it); history lands in the last bucket.
   */
  valueLatency: LatencySummary;
}

export interface Emulator {
  /** http://HOST:PORT */
  readonly url: string;
  /** url + "/ingest": values live at {baseUrl}/partitions/{p}/points/{id}/values. */
  readonly baseUrl: string;
  /** url + "/oauth/token" */
  readonly tokenUrl: string;
  /** What was stored; pass it to a new emulator to restart "the same" API. */
  readonly store: EmulatorStore;
  /** Stored values of a point, ascending by timestamp. */
  values(partitionId: string, pointId: string): StoredValue[];
  /** Points of a partition that have been written to, sorted. */
  points(partitionId: string): string[];
  stats(): EmulatorStats;
  /** Throws a TypeError for an invalid fault. */
  addFault(fault: Fault): void;
  clearFaults(): void;
  setKnownPoints(ids: Iterable<string> | undefined): void;
  /** Stops listening and destroys every connection, idle keep-alive ones and those waiting on latency too. */
  close(): Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  // Attached in the same tick listen() resolved: no connection can be handled before it.
  return new IngestEmulator(server, opts);
}

const MAX_BODY_BYTES = 1024 * 1024;
const NO_STORE = { "cache-control": "no-store" };
const NO_CONTENT: Reply = { status: 204 };

/** What a handler answers; `undefined` instead means the connection was dropped on purpose. */
interface Reply {
  status: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

type Handlers = Partial<Record<string, () => Promise<Reply | undefined> | Reply>>;

class IngestEmulator implements Emulator {
  readonly url: string;
  readonly baseUrl: string;
  readonly tokenUrl: string;
  readonly store: EmulatorStore;
  private readonly faults = new FaultQueue();
  private readonly tokens: TokenAuthority;
  private readonly latencyTimers = new Set<NodeJS.Timeout>();
  private readonly valueLatency = new LatencyHistogram();
  /** The values of the request being stored: one set of columns reused, as requests are stored one at a time. */
  private readonly scanned = new ScannedValues();
  private readonly counters: Omit<EmulatorStats, "valueLatency"> = {
    tokensIssued: 0,
    tokenRequests: 0,
    requests: 0,
    byStatus: {},
    valuesReceived: 0,
    valuesStored: 0,
    conflicts: 0,
    maxValuesInRequest: 0,
    nonCanonicalTimestamps: 0,
  };
  private knownPoints: Set<string> | undefined;
  private lastAuthorization: string | undefined;
  private lastToken: string | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly server: Server,
    private readonly opts: EmulatorOptions,
  ) {
    this.store = opts.store ?? new EmulatorStore();
    this.url = `http://${hostForUrl(server.address() as AddressInfo)}`;
    this.baseUrl = `${this.url}/ingest`;
    this.tokenUrl = `${this.url}/oauth/token`;
    this.tokens = new TokenAuthority(`${this.url}/`, this.audience, opts.now ?? Date.now);
    this.setKnownPoints(opts.knownPoints);
    server.on("request", (req, res) => void this.handle(req, res));
  }

  values(partitionId: string, pointId: string): StoredValue[] {
    return this.store.values(partitionId, pointId);
  }

  points(partitionId: string): string[] {
    return this.store.points(partitionId);
  }

  stats(): EmulatorStats {
    return { ...this.counters, byStatus: { ...this.counters.byStatus }, valueLatency: this.valueLatency.summary() };
  }

  addFault(fault: Fault): void {
    this.faults.add(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  setKnownPoints(ids: Iterable<string> | undefined): void {
    this.knownPoints = ids === undefined ? undefined : new Set(ids);
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      // Handlers parked on a latency timer are abandoned; their sockets are destroyed just below.
      for (const timer of this.latencyTimers) clearTimeout(timer);
      this.server.close((err) => (err ? reject(err) : resolve()));
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private get audience(): string {
    return this.opts.audience ?? "https://horizon.siemens.com";
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The values POST every client sends skips the URL object: route() would take it to the same handler.
    const plain = req.method === "POST" ? plainValuesTarget(req.url) : undefined;
    const url = plain ? undefined : parseTarget(req.url);
    try {
      let reply: Reply | undefined;
      if (plain) reply = await this.postValues(req, plain.pathname, plain, plain.overwrite);
      else reply = url ? await this.route(req, url) : errorReply(400, "BAD_REQUEST", "malformed request target");
      if (reply && !this.closing) this.send(req, res, reply);
    } catch (err) {
      // A body read fails when the client went away: nobody is left to answer.
      if (req.socket.destroyed || res.headersSent) return;
      this.send(req, res, errorReply(500, "INTERNAL", `emulator failure: ${(err as Error).message}`));
    }
  }

  private route(req: IncomingMessage, url: URL): Promise<Reply | undefined> | Reply {
    const handlers = this.handlersFor(req, url);
    if (!handlers) return errorReply(404, "NOT_FOUND", `no resource at ${url.pathname}`);
    const handler = handlers[req.method ?? ""];
    if (handler) return handler();
    const reply = errorReply(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${url.pathname}`);
    return { ...reply, headers: { allow: Object.keys(handlers).join(", ") } };
  }

  private handlersFor(req: IncomingMessage, url: URL): Handlers | undefined {
    const target = valuesTarget(url.pathname);
    if (target) {
      return { GET: () => this.getValues(req, url, target), POST: () => this.postValues(req, url.pathname, target, checkOverwrite(url.searchParams)) };
    }
    switch (url.pathname) {
      case "/oauth/token":
        return { POST: () => this.postToken(req) };
      case "/_emulator/stats":
        return { GET: () => ({ status: 200, contentType: "application/json", body: this.stats() }) };
      case "/_emulator/faults":
        return { POST: () => this.postFault(req), DELETE: () => this.deleteFaults() };
      case "/_emulator/values":
        return { GET: () => this.controlValues(url) };
      default:
        return undefined;
    }
  }

  // --- token endpoint ---------------------------------------------------------------------------

  private async postToken(req: IncomingMessage): Promise<Reply> {
    this.counters.tokenRequests += 1;
    const body = await readBody(req);
    const fault = this.faults.takeForToken();
    if (fault) return oauthError(fault.status, oauthFaultCode(fault.status), "fault injected by the emulator", retryAfter(fault));
    const rejection = this.grantProblem(req, body);
    if (rejection) return rejection;
    this.counters.tokensIssued += 1;
    const lifetimeS = this.opts.tokenLifetimeS ?? 86_400;
    const clientId = this.opts.clientId ?? "demo-client";
    return {
      status: 200,
      contentType: "application/json",
      headers: NO_STORE,
      body: { access_token: this.tokens.issue(clientId, lifetimeS), token_type: "Bearer", expires_in: lifetimeS },
    };
  }

  /** The OAuth error for a grant the real authorization server would refuse. */
  private grantProblem(req: IncomingMessage, body: Buffer | undefined): Reply | undefined {
    const mediaType = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
    if (mediaType !== "application/json") return oauthError(400, "invalid_request", "content-type must be application/json");
    if (body === undefined) return oauthError(413, "invalid_request", "request body too large");
    const grant = parseJson(body);
    if (!isObject(grant)) return oauthError(400, "invalid_request", "the body must be a JSON object");
    if (grant["grant_type"] === undefined) return oauthError(400, "invalid_request", "missing grant_type");
    if (grant["grant_type"] !== "client_credentials") {
      return oauthError(400, "unsupported_grant_type", "grant_type must be client_credentials");
    }
    const clientOk = grant["client_id"] === (this.opts.clientId ?? "demo-client") && grant["client_secret"] === (this.opts.clientSecret ?? "demo-secret");
    if (!clientOk) return oauthError(401, "access_denied", "Unauthorized");
    if (grant["audience"] !== this.audience) return oauthError(401, "access_denied", `Service not found: ${String(grant["audience"])}`);
    return undefined;
  }

  // --- values -----------------------------------------------------------------------------------

  /** `overwrite` is the query's verdict (checkOverwrite), answered only after the checks that come first. */
  private async postValues(req: IncomingMessage, pathname: string, target: ValuesTarget, overwrite: ReturnType<typeof checkOverwrite>): Promise<Reply | undefined> {
    this.counters.requests += 1;
    const body = await readBody(req);
    const delay = this.latency();
    if (delay) await delay;
    const fault = this.faults.takeForValues(target.pointId);
    if (fault?.kind === "reset") {
      this.opts.log?.(`POST ${pathname} -> connection reset (fault)`);
      req.socket.destroy();
      return undefined;
    }
    const reply = fault ? faultReply(fault) : this.writeValues(req, target, overwrite, body);
    this.counters.byStatus[reply.status] = (this.counters.byStatus[reply.status] ?? 0) + 1;
    return reply;
  }

  private writeValues(req: IncomingMessage, target: ValuesTarget, overwrite: ReturnType<typeof checkOverwrite>, body: Buffer | undefined): Reply {
    const rejection = this.authProblem(req) ?? negotiationProblem(req, true) ?? this.unknownPointProblem(target);
    if (rejection) return rejection;
    if (typeof overwrite !== "boolean") return errorsReply(400, overwrite.problems);
    if (body === undefined) return errorReply(413, "PAYLOAD_TOO_LARGE", `the body exceeds ${MAX_BODY_BYTES} bytes`);
    let dropped: number[];
    const scanned = this.scanned;
    if (scanValues(body, scanned)) {
      dropped = this.store.writeScanned(target.partitionId, target.pointId, scanned, overwrite);
      this.count(scanned.ms, scanned.count, 0, dropped); // the compact form has canonical timestamps only
    } else {
      const items = checkedItems(body);
      if (!Array.isArray(items)) return items;
      dropped = this.store.write(target.partitionId, target.pointId, items, overwrite);
      this.count(items.map((item) => item.ms), items.length, items.filter((item) => !item.canonical).length, dropped);
    }
    return dropped.length === 0 ? NO_CONTENT : { status: 202, body: { meta: { conflicts: dropped } } };
  }

  /** Counters and the age of every value just stored (`dropped`, ascending indices, were not stored). */
  private count(ms: ArrayLike<number>, values: number, nonCanonical: number, dropped: readonly number[]): void {
    const now = Date.now();
    for (let i = 0, d = 0; i < values; i++) {
      if (dropped[d] === i) d += 1;
      else this.valueLatency.record(now - ms[i]!);
    }
    const c = this.counters;
    c.valuesReceived += values;
    c.valuesStored += values - dropped.length;
    c.conflicts += dropped.length;
    c.maxValuesInRequest = Math.max(c.maxValuesInRequest, values);
    c.nonCanonicalTimestamps += nonCanonical;
  }

  private getValues(req: IncomingMessage, url: URL, target: ValuesTarget): Reply {
    const rejection = this.authProblem(req) ?? negotiationProblem(req, false) ?? this.unknownPointProblem(target);
    if (rejection) return rejection;
    const query = checkPageQuery(url.searchParams);
    if ("problems" in query) return errorsReply(400, query.problems);
    const fromMs = Math.max(query.fromMs, query.afterMs + 1);
    const series = this.store.series(target.partitionId, target.pointId);
    const page = series?.range(fromMs, query.toMs, query.limit) ?? { rows: [], more: false };
    const data = page.rows.map(([ms, entry]) => ({ type: "PointValue", id: `${target.pointId}:${ms}`, attributes: toStoredValue(ms, entry) }));
    const last = page.rows.at(-1);
    const links = page.more && last ? { next: nextLink(target, url, last[0]) } : {};
    return { status: 200, body: { data, links } };
  }

  private authProblem(req: IncomingMessage): Reply | undefined {
    const header = req.headers.authorization;
    const token = header === undefined ? undefined : this.bearerToken(header);
    if (token === undefined) {
      const detail = header === undefined ? "missing Authorization header" : "malformed Authorization header";
      return unauthorized(`${detail}; send \`Authorization: Bearer <access_token>\``, "Bearer");
    }
    const verdict = this.tokens.verify(token);
    if (verdict === "valid") return undefined;
    const detail = verdict === "expired" ? "the access token has expired; create a new one" : "unknown access token";
    return unauthorized(detail, 'Bearer error="invalid_token"');
  }

  /** The token of an Authorization header; a client sends the same header on every request, so the last is kept. */
  private bearerToken(header: string): string | undefined {
    if (header !== this.lastAuthorization) {
      this.lastAuthorization = header;
      this.lastToken = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header)?.[1];
    }
    return this.lastToken;
  }

  private unknownPointProblem(target: ValuesTarget): Reply | undefined {
    if (!this.knownPoints || this.knownPoints.has(target.pointId)) return undefined;
    return errorReply(404, "NOT_FOUND", `point ${target.pointId} does not exist in partition ${target.partitionId}`);
  }

  /** The configured delay; undefined without one, so an answer does not wait for a promise hop either. */
  private latency(): Promise<void> | undefined {
    const ms = this.opts.latencyMs ?? 0;
    if (ms <= 0) return undefined;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.latencyTimers.delete(timer);
        resolve();
      }, ms);
      this.latencyTimers.add(timer);
    });
  }

  // --- control endpoints ------------------------------------------------------------------------

  private async postFault(req: IncomingMessage): Promise<Reply> {
    const body = await readBody(req);
    const fault = body === undefined ? undefined : parseJson(body);
    const problem = faultProblem(fault);
    if (problem) return errorReply(400, "INVALID_FAULT", problem);
    this.addFault(fault as Fault);
    return { status: 204 };
  }

  private deleteFaults(): Reply {
    this.clearFaults();
    return { status: 204 };
  }

  private controlValues(url: URL): Reply {
    const partition = url.searchParams.get("partition");
    const point = url.searchParams.get("point");
    if (!partition || !point) return errorReply(400, "INVALID_QUERY", "both `partition` and `point` query parameters are required");
    return { status: 200, contentType: "application/json", body: this.values(partition, point) };
  }

  private send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
    if (reply.body === undefined) {
      res.writeHead(reply.status, reply.headers);
      res.end();
    } else {
      const text = JSON.stringify(reply.body);
      const headers = { "content-type": reply.contentType ?? JSON_API, "content-length": String(Buffer.byteLength(text)) };
      res.writeHead(reply.status, reply.headers ? { ...headers, ...reply.headers } : headers);
      res.end(text);
    }
    this.opts.log?.(`${req.method} ${req.url} -> ${reply.status}`);
  }
}

// --- helpers --------------------------------------------------------------------------------------

function hostForUrl(address: AddressInfo): string {
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`;
}

/** links.next is relative to the API base URL, as the real API's is: it starts with /partitions/. */
function nextLink(target: ValuesTarget, url: URL, lastMs: number): string {
  const params = new URLSearchParams(url.searchParams);
  params.set("page[cursor]", encodeCursor(lastMs));
  return `/partitions/${encodeURIComponent(target.partitionId)}/points/${encodeURIComponent(target.pointId)}/values?${params}`;
}

/** The whole body, or undefined when it exceeds the limit. Oversized bodies are still drained, so the
 *  client gets to read the 413 instead of failing on a socket closed while it was still sending. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    // Most bodies come in one chunk: it is the body, without a copy (Buffer.concat copies even one).
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let size = 0;
    let settled = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return;
      if (first === undefined) first = chunk;
      else (more ??= [first]).push(chunk);
    });
    req.on("end", () => {
      settled = true;
      resolve(size > MAX_BODY_BYTES ? undefined : more ? Buffer.concat(more) : (first ?? Buffer.alloc(0)));
    });
    req.on("error", (err) => {
      settled = true;
      reject(err);
    });
    // Every request closes, after its end too: an Error (and its stack trace) only when it is one.
    req.on("close", () => settled || reject(new Error("request closed before its body was read")));
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** The items of a values body that is not in the compact form (scanValues), or the 400 that refuses it. */
function checkedItems(body: Buffer): ValueItem[] | Reply {
  const doc = parseJson(body);
  if (doc === undefined) return errorReply(400, "INVALID_JSON", "the body is not valid JSON", { pointer: "" });
  const check = checkValuesDocument(doc);
  return check.ok ? check.items : errorsReply(400, check.problems);
}

function negotiationProblem(req: IncomingMessage, hasBody: boolean): Reply | undefined {
  const accept = req.headers.accept;
  if (!acceptsJsonApi(accept)) return errorReply(406, "NOT_ACCEPTABLE", `Accept must allow ${JSON_API}; got "${accept}"`);
  const contentType = req.headers["content-type"];
  if (hasBody && !isJsonApiContentType(contentType)) {
    return errorReply(415, "UNSUPPORTED_MEDIA_TYPE", `Content-Type must be exactly ${JSON_API}, without parameters; got "${contentType ?? ""}"`);
  }
  return undefined;
}

function unauthorized(detail: string, challenge: string): Reply {
  return { ...errorReply(401, "UNAUTHORIZED", detail), headers: { "www-authenticate": challenge } };
}

function faultReply(fault: Fault): Reply {
  return { ...errorReply(fault.status, "EMULATED_FAULT", "fault injected by the emulator"), headers: retryAfter(fault) };
}

function retryAfter(fault: Fault): Record<string, string> {
  return fault.retryAfterS === undefined ? {} : { "retry-after": String(fault.retryAfterS) };
}

function errorReply(status: number, code: string, detail: string, source?: Problem["source"]): Reply {
  return errorsReply(status, [{ code, detail, ...(source && { source }) }]);
}

/** A JSON:API error document: one error object per problem. */
function errorsReply(status: number, problems: readonly Problem[]): Reply {
  const errors = problems.map((p) => ({
    id: randomUUID(),
    code: p.code,
    status: String(status),
    title: STATUS_CODES[status] ?? "Error",
    detail: p.detail,
    ...(p.source && { source: p.source }),
  }));
  return { status, body: { errors } };
}

function oauthError(status: number, error: string, description: string, headers: Record<string, string> = {}): Reply {
  return { status, contentType: "application/json", headers: { ...NO_STORE, ...headers }, body: { error, error_description: description } };
}

function oauthFaultCode(status: number): string {
  if (status === 429) return "too_many_requests";
  if (status >= 500) return "server_error";
  return status === 401 || status === 403 ? "access_denied" : "invalid_request";
}
