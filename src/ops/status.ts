import { createHash, timingSafeEqual } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { OpsView } from "./metrics.js";
import type { RouteHandler } from "./server.js";
import type { DeadLetterSummary } from "../spool/deadletters.js";
import { RateHistory } from "./status-history.js";
import { parsePointQuery, PointIndex, type MappedPoint } from "./status-points.js";

/**
 * What the status page reads from a running connector: the ops view, plus the mapping's addresses
 * and points, the points the server refused, and a summary of the dead letters.
 * LiveConnector has all of these; tests pass a fake.
 */
export interface StatusView extends OpsView {
  readonly mapping: {
    readonly ingest: { readonly baseUrl: string };
    readonly points: readonly MappedPoint[];
  };
  readonly source: { readonly failed: ReadonlyMap<string, string> };
  deadLetters(): DeadLetterSummary;
}

export interface StatusOptions {
  /** ops.token: lets `/?token=...` set the cookie. */
  token?: string | undefined;
  log?: Logger | undefined;
  /** Rate sampling (default every 2 s over 15 min). */
  history?: { windowMs: number; intervalMs: number };
}

export const TOKEN_COOKIE = "opcua_ingest_token";

/** Where the page's files are: next to this module (src/ops/page), or from dist/ops back to src/ops/page. */
export function pageDir(): string | undefined {
  for (const rel of ["./page/", "../../src/ops/page/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  return undefined;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Every answer of the page: no framing, no sniffing, nothing from elsewhere, no Referer (the token URL). */
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    assets.set(name, { body, type, etag: `"${createHash("sha1").update(body).digest("base64url").slice(0, 20)}"` });
  }
  return assets;
}

/** A URL without user info, query or fragment: what the page may show of an address. */
export function safeUrl(text: string): string {
  try {
    const u = new URL(text);
    u.username = "";
    u.password = "";
    u.search = "";
    u.hash = "";
    return u.toString();
  } catch {
    return text.replace(/\/\/[^/@\s]*@/g, "//").replace(/[?#].*$/, "");
  }
}

/** Error text for the page: user info in any URL removed, bearer values masked, length bounded. */
export function safeText(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1")
    .replace(/(bearer\s+)[\w.~+/=-]+/gi, "$1***")
    .slice(0, 500);
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...SECURITY_HEADERS }).end(JSON.stringify(body));
}

/**
 * `GET /?token=TOKEN`: a right token sets the `opcua_ingest_token` cookie (HttpOnly, SameSite=Strict,
 * for this browser session) and redirects to `/`, so the token leaves the address bar and the page's
 * own requests carry the cookie. Answers 401 for a wrong one. Runs before the ops server's token
 * check (the request has no cookie yet); returns false for every other request.
 */
export function tokenLogin(token: string | undefined): RouteHandler {
  return (req, res, url) => {
    if (url.pathname !== "/" || !url.searchParams.has("token") || (req.method !== "GET" && req.method !== "HEAD")) return false;
    const given = url.searchParams.get("token") ?? "";
    if (token !== undefined && !sameToken(given, token)) {
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS }).end("wrong ops.token\n");
      return true;
    }
    res.writeHead(303, {
      location: "/",
      "cache-control": "no-store",
      ...(token !== undefined && { "set-cookie": `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict` }),
      ...SECURITY_HEADERS,
    }).end();
    return true;
  };
}

export interface StatusRoutes {
  /** The route handler for startOpsServer's `extra`. */
  readonly handle: RouteHandler;
  readonly history: RateHistory;
  /** Samples the rates now (the timer does it every intervalMs). */
  sample(): void;
  /** Stops the sampling timer (it also stops by itself once the connector reports "stopped"). */
  close(): void;
}

/**
 * The status page: `/` (the page), `/page/*` (its files), `/api/status` and `/api/points`. Read-only.
 * The rates are sampled on a timer (unref'd) into a ring buffer whether or not anyone looks.
 */
export function createStatusRoutes(view: StatusView, opts: StatusOptions = {}): StatusRoutes {
  const dir = pageDir();
  const assets = dir ? loadAssets(dir) : new Map<string, Asset>();
  if (!dir) opts.log?.warn("status page files not found (src/ops/page): / answers 503; /api/status and /api/points work");
  const history = new RateHistory(opts.history?.windowMs, opts.history?.intervalMs);
  const startedAt = Date.now();
  const login = tokenLogin(opts.token);
  let index: PointIndex | undefined;

  const sample = () => history.sample(Date.now(), view.stats.received, view.stats.sent);
  sample();
  const timer = setInterval(() => {
    if (view.sourceState === "stopped") return clearInterval(timer);
    sample();
  }, history.intervalMs);
  timer.unref();

  const points = (): PointIndex => {
    // Rebuilt when a reload brings a new points list; otherwise built once.
    if (index?.points !== view.mapping.points) index = new PointIndex(view.mapping.points, view.stats);
    return index;
  };

  const status = (url: URL) => {
    const now = Date.now();
    const s = view.stats;
    const spool = view.spoolStatus();
    const since = Number(url.searchParams.get("since") ?? 0) || 0;
    const apiError = view.lastApiError();
    const lastGap = s.gaps.at(-1);
    const counts = view.pointCounts();
    const sources = view.sources();
    return {
      now,
      startedAt,
      opcua: {
        state: view.sourceState,
        connected: view.sourceState === "connected",
        endpoint: sources.map((x) => safeUrl(x.endpoint)).join(", "),
        sources: sources.map((x) => ({ ...x, endpoint: safeUrl(x.endpoint) })),
        reconnects: s.reconnects,
        lastGap: lastGap ? { from: lastGap.from, to: lastGap.to } : null,
      },
      api: {
        up: s.apiUp,
        url: safeUrl(view.mapping.ingest.baseUrl),
        lastSuccess: s.lastApiSuccess ?? null,
        lastError: apiError ? { at: apiError.at, reason: safeText(apiError.reason) } : null,
        requests: s.requests,
        retries: s.retries,
        byStatus: s.byStatus,
      },
      rates: { ...history.latest(), intervalMs: history.intervalMs, windowMs: history.windowMs },
      history: history.since(since, now),
      totals: { received: s.received, sent: s.sent, conflicts: s.conflicts, duplicates: s.duplicates, dropped: s.droppedTotal, droppedBy: s.dropped },
      spool: {
        rows: spool.rows,
        bytes: spool.bytes,
        maxBytes: spool.maxBytes,
        oldestArrival: spool.oldestArrival ?? null,
        oldestAgeMs: spool.oldestArrival === undefined ? null : Math.max(0, now - spool.oldestArrival),
      },
      deadLetters: view.deadLetters(),
      points: counts,
    };
  };

  const sendAsset = (req: IncomingMessage, res: ServerResponse, name: string): boolean => {
    const a = assets.get(name);
    if (!a) {
      if (name !== "index.html") return false;
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8" }).end("status page files not installed (src/ops/page); /api/status and /api/points answer\n");
      return true;
    }
    const headers = { "content-type": a.type, etag: a.etag, "cache-control": "no-cache", ...SECURITY_HEADERS };
    if (req.headers["if-none-match"] === a.etag) res.writeHead(304, headers).end();
    else res.writeHead(200, { ...headers, "content-length": a.body.length }).end(a.body);
    return true;
  };

  const handle: RouteHandler = async (req, res, url) => {
    const path = url.pathname;
    if (path === "/") {
      if (await login(req, res, url)) return true;
      return sendAsset(req, res, "index.html");
    }
    if (path.startsWith("/page/")) {
      const name = path.slice("/page/".length);
      // Only the files loaded at start, by exact name: no paths.
      return /^[\w.-]+$/.test(name) && name !== "index.html" ? sendAsset(req, res, name) : false;
    }
    if (path === "/api/status") {
      json(res, 200, status(url));
      return true;
    }
    if (path === "/api/points") {
      const started = performance.now();
      const page = points().query(parsePointQuery(url.searchParams), Date.now(), view.source.failed);
      json(res, 200, { ...page, tookMs: Math.round((performance.now() - started) * 100) / 100 });
      return true;
    }
    return false;
  };

  return { handle, history, sample, close: () => clearInterval(timer) };
}
