import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { ListenAddress } from "../config/types.js";
import type { OpsView } from "./metrics.js";
import { tokenLogin } from "./status.js";

export interface OpsServerOptions {
  listen: ListenAddress;
  token?: string;
}

/** Readiness: every source's OPC UA session is up, and the API answers or the spool still has room. */
export function readiness(view: OpsView): { ready: boolean; reasons: string[]; notConnected: { name: string; state: string }[] } {
  const reasons: string[] = [];
  const notConnected = view.sources().filter((s) => s.state !== "connected").map((s) => ({ name: s.name, state: s.state }));
  for (const s of notConnected) reasons.push(`OPC UA session ${s.state} (source ${s.name})`);
  const spool = view.spoolStatus();
  if (!view.stats.apiUp && spool.bytes >= spool.maxBytes) reasons.push("API unavailable and the spool is full");
  return { ready: reasons.length === 0, reasons, notConnected };
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const header = req.headers.authorization;
  const cookie = /(?:^|;\s*)opcua_ingest_token=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
  const given = header?.startsWith("Bearer ") ? header.slice(7) : cookie ? decodeURIComponent(cookie) : undefined;
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

/**
 * /healthz (the process answers), /readyz (see readiness), /metrics (Prometheus). Further routes
 * (the status page) plug in through `extra`. A token, when set, guards every route but the probes.
 */
export async function startOpsServer(view: OpsView, metrics: Registry, opts: OpsServerOptions, log: Logger, extra: RouteHandler[] = []): Promise<{ url: string; close(): Promise<void> }> {
  const login = tokenLogin(opts.token);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://ops");
      // Probes stay open (they reveal no data and a kubelet cannot send a secret header); the rest needs the token.
      const probe = url.pathname === "/healthz" || url.pathname === "/readyz";
      if (await login(req, res, url)) return; // /?token=…: sets the cookie and redirects
      if (!probe && !authorized(req, opts.token)) {
        res.writeHead(401, { "content-type": "text/plain", "www-authenticate": "Bearer" }).end("ops.token required (Authorization: Bearer ...)\n");
        return;
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD" }).end();
        return;
      }
      if (url.pathname === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      } else if (url.pathname === "/readyz") {
        const r = readiness(view);
        res.writeHead(r.ready ? 200 : 503, { "content-type": "application/json" }).end(`${JSON.stringify(r)}\n`);
      } else if (url.pathname === "/metrics") {
        res.writeHead(200, { "content-type": metrics.contentType }).end(await metrics.metrics());
      } else {
        for (const handler of extra) if (await handler(req, res, url)) return;
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      }
    })().catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, "ops request failed");
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listen.port, opts.listen.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
  const url = `http://${host}:${a.port}`;
  log.info({ event: "ops_listening", url }, "ops endpoints listening (/healthz, /readyz, /metrics)");
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
