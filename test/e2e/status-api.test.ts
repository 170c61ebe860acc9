import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import BetterSqlite3 from "better-sqlite3";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpsServer } from "../../src/ops/server.js";
import { createStatusRoutes, safeText, safeUrl, tokenLogin, type StatusRoutes, type StatusView } from "../../src/ops/status.js";
import type { MappedPoint } from "../../src/ops/status-points.js";
import { Stats } from "../../src/delivery/stats.js";
import { DeadLetterStore } from "../../src/spool/deadletters.js";
import { migrate } from "../../src/spool/schema.js";
import { silent } from "../helpers/env.js";

const N = 100_000;
const TOKEN = "s3cret-ops-token";
const auth = { authorization: `Bearer ${TOKEN}` };

/** A connector's view without a connector: 100,000 points, a spool database with dead letters. */
function fakeView(): StatusView & { state: string } {
  const stats = new Stats();
  const points: MappedPoint[] = [];
  const now = Date.now();
  for (let i = 0; i < N; i++) {
    const pointId = `line${String(i % 20).padStart(2, "0")}-m${String(i).padStart(6, "0")}-temp`;
    points.push({ pointId, nodeId: `nsu=urn:plant;s=Plant.Line${i % 20}.Machine${i}.Temperature` });
    const c = stats.point(pointId);
    c.sent = (i * 7919) % 1000;
    if (i % 10 !== 0) {
      c.lastReceivedAt = now - ((i * 104_729) % 3_600_000);
      c.lastValue = String(i);
      c.lastTs = c.lastReceivedAt;
    }
  }
  stats.received = 1234;
  stats.sent = 1200;
  stats.lastApiSuccess = now - 1000;
  const db = new BetterSqlite3(":memory:");
  migrate(db, ":memory:");
  const insert = db.prepare("INSERT INTO dead_letters (at, point_id, status, detail, overwrite, samples) VALUES (?, ?, ?, ?, 0, ?)");
  for (let i = 1; i <= 7; i++) insert.run(now - (10 - i) * 1000, `line00-m00000${i}-temp`, 403, `forbidden #${i}`, JSON.stringify([[now, "1", 0], [now + 1, "2", 0]]));
  const view = {
    stats,
    state: "connected",
    get sourceState() {
      return this.state;
    },
    mapping: {
      ingest: { baseUrl: "https://api.example.test/ingest?key=abc" },
      points,
    },
    source: { failed: new Map([[points[42]!.pointId, "BadNodeIdUnknown"]]) },
    db,
    sources() {
      return [{ name: "default", state: this.state, endpoint: "opc.tcp://operator:hunter2@plant-gw:4840/UA", failovers: 0, monitored: N - 1, waiting: 0, failed: 1 }];
    },
    deadLetters: () => new DeadLetterStore(db).summary(),
    spoolStatus: () => ({ rows: 10, bytes: 2048, maxBytes: 1 << 30, oldestArrival: now - 5000 }),
    tokenRefreshes: () => 1,
    pointCounts: () => ({ mapped: N, failed: 1 }),
    lastApiError: () => ({ at: now - 2000, reason: "HTTP 503: unavailable at https://user:pw@api.example.test/ingest (Bearer abc.def)" }),
  };
  return view;
}

let view: ReturnType<typeof fakeView> & { db: BetterSqlite3.Database };
let routes: StatusRoutes;
let ops: { url: string; close(): Promise<void> };

beforeAll(async () => {
  view = fakeView() as typeof view;
  // the timer must never sample between two requests of a test: the tests call sample() themselves
  routes = createStatusRoutes(view, { token: TOKEN, log: silent, history: { windowMs: 86_400_000, intervalMs: 3_600_000 } });
  ops = await startOpsServer(view, new Registry(), { listen: { host: "127.0.0.1", port: 0 }, token: TOKEN }, silent, [routes.handle]);
});
afterAll(async () => {
  routes?.close();
  await ops?.close();
  view?.db.close();
});

interface PointsBody {
  mapped: number;
  total: number;
  page: number;
  pages: number;
  tookMs: number;
  rows: { pointId: string; nodeId: string; ageMs?: number; sent: number; status: string; reason?: string }[];
}

async function points(query: string): Promise<{ body: PointsBody; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${ops.url}/api/points?${query}`, { headers: auth });
  const body = (await res.json()) as PointsBody;
  const ms = performance.now() - started;
  expect(res.status).toBe(200);
  return { body, ms };
}

describe("status page API over HTTP", () => {
  it("/api/points at 100,000 points: filter, sort and paging are right; prints the response times", async () => {
    const lines: string[] = [];
    /** Five requests: the first (cold) and the median wall time, and the server's own median. */
    const timed = async (query: string) => {
      const runs = [];
      for (let i = 0; i < 5; i++) runs.push(await points(query));
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[2]!;
      const wall = median(runs.map((r) => r.ms));
      const server = median(runs.map((r) => r.body.tookMs));
      lines.push(`${query.padEnd(48)} first ${runs[0]!.ms.toFixed(1).padStart(6)} ms, median ${wall.toFixed(1).padStart(5)} ms (server ${server.toFixed(1)} ms)`);
      return runs[0]!.body;
    };
    const first = await timed("page=1&pageSize=50");
    expect(first).toMatchObject({ mapped: N, total: N, page: 1, pages: N / 50 });
    expect(first.rows.map((r) => r.pointId)).toEqual([...view.mapping.points.map((p) => p.pointId)].sort().slice(0, 50));

    const silentFirst = await timed("sort=-age&pageSize=50");
    // every 10th point never sent a value: those come first, in mapping order
    expect(silentFirst.rows.slice(0, 3).map((r) => r.pointId)).toEqual([0, 10, 20].map((i) => view.mapping.points[i]!.pointId));
    expect(silentFirst.rows.every((r) => r.ageMs === undefined && r.status === "waiting")).toBe(true);
    const oldest = await timed(`sort=-age&page=${N / 10 / 50 + 1}&pageSize=50`);
    const ages = oldest.rows.map((r) => r.ageMs!);
    expect(ages.every((a) => a > 0)).toBe(true);
    expect(ages).toEqual([...ages].sort((a, b) => b - a));

    const most = await timed("sort=-sent&pageSize=20");
    expect(most.rows.map((r) => r.sent)).toEqual(Array(20).fill(999));

    const line7 = await timed("filter=LINE07&sort=pointId&page=3&pageSize=100");
    expect(line7.total).toBe(N / 20);
    expect(line7.rows).toHaveLength(100);
    expect(line7.rows.every((r) => r.pointId.startsWith("line07-"))).toBe(true);
    expect(line7.rows[0]!.pointId < line7.rows[99]!.pointId).toBe(true);

    const byNode = await timed("filter=Machine42.Temperature");
    expect(byNode.total).toBe(1);
    expect(byNode.rows[0]).toMatchObject({ pointId: view.mapping.points[42]!.pointId, status: "failed", reason: "BadNodeIdUnknown" });

    await timed("sort=sent&page=2000&pageSize=50");
    await timed("sort=-age&page=1000&pageSize=50");
    console.log(`/api/points over HTTP at ${N} points (wall time; the very first request builds the index):\n  ${lines.join("\n  ")}`);
  });

  it("/api/status: session, API, rates, spool, dead letters; no secret and no credentials in URLs", async () => {
    routes.sample();
    view.stats.received += 50;
    await new Promise((r) => setTimeout(r, 120));
    routes.sample();
    const res = await fetch(`${ops.url}/api/status`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const text = await res.text();
    const s = JSON.parse(text) as Record<string, any>;
    expect(s.opcua).toMatchObject({ state: "connected", connected: true, endpoint: "opc.tcp://plant-gw:4840/UA" });
    expect(s.api).toMatchObject({ up: true, url: "https://api.example.test/ingest" });
    expect(s.api.lastError.reason).toBe("HTTP 503: unavailable at https://api.example.test/ingest (Bearer ***)");
    expect(s.rates).toMatchObject({ intervalMs: 3_600_000, windowMs: 86_400_000 });
    expect(s.history.some((h: { read: number }) => h.read > 0)).toBe(true);
    expect(s.spool).toMatchObject({ rows: 10, bytes: 2048 });
    expect(s.spool.oldestAgeMs).toBeGreaterThanOrEqual(5000);
    expect(s.deadLetters.count).toBe(7);
    expect(s.deadLetters.latest.map((d: { detail: string }) => d.detail)).toEqual(["forbidden #7", "forbidden #6", "forbidden #5", "forbidden #4", "forbidden #3"]);
    expect(s.deadLetters.latest[0]).toMatchObject({ status: 403, values: 2, pointId: "line00-m000007-temp" });
    expect(s.points).toEqual({ mapped: N, failed: 1 });
    for (const secret of [TOKEN, "hunter2", "operator", "key=abc", "abc.def", ":pw@"]) expect(text).not.toContain(secret);
    // only newer samples when the page says what it has
    const last = s.history.at(-1).t as number;
    const again = (await (await fetch(`${ops.url}/api/status?since=${last}`, { headers: auth })).json()) as { history: unknown[] };
    expect(again.history).toEqual([]);

    view.state = "reconnecting";
    const down = (await (await fetch(`${ops.url}/api/status`, { headers: auth })).json()) as { opcua: { connected: boolean; state: string } };
    expect(down.opcua).toMatchObject({ state: "reconnecting", connected: false });
    view.state = "connected";
  });

  it("serves the page and its files from the package, read-only, with the token (header or cookie)", async () => {
    expect((await fetch(`${ops.url}/`)).status).toBe(401);
    const page = await fetch(`${ops.url}/`, { headers: { cookie: `opcua_ingest_token=${TOKEN}` } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('<script src="/page/app.js"');
    expect(html).not.toMatch(/https?:\/\/(?!127)/); // nothing from elsewhere: works air-gapped
    for (const [file, type] of [["app.js", "text/javascript"], ["style.css", "text/css"], ["favicon.svg", "image/svg+xml"]] as const) {
      const r = await fetch(`${ops.url}/page/${file}`, { headers: auth });
      expect(r.status, file).toBe(200);
      expect(r.headers.get("content-type")).toContain(type);
      const etag = r.headers.get("etag")!;
      expect((await fetch(`${ops.url}/page/${file}`, { headers: { ...auth, "if-none-match": etag } })).status).toBe(304);
    }
    for (const bad of ["/page/..%2Fstatus.ts", "/page/index.html", "/page/", "/page/nope.js", "/api/nope"]) {
      expect((await fetch(`${ops.url}${bad}`, { headers: auth })).status, bad).toBe(404);
    }
    expect((await fetch(`${ops.url}/api/status`, { method: "POST", headers: auth })).status).toBe(405);
    // an authorized /?token= (cookie already set) only takes the token out of the address bar
    const strip = await fetch(`${ops.url}/?token=${TOKEN}`, { headers: auth, redirect: "manual" });
    expect(strip.status).toBe(303);
    expect(strip.headers.get("location")).toBe("/");
  });

  it("tokenLogin: /?token= with the right token sets the cookie and redirects; a wrong one is refused", async () => {
    const login = tokenLogin(TOKEN);
    const server: Server = createServer((req, res) => {
      void (async () => {
        if (!(await login(req, res, new URL(req.url ?? "/", "http://ops")))) res.writeHead(200).end("next");
      })();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ok = await fetch(`${base}/?token=${encodeURIComponent(TOKEN)}`, { redirect: "manual" });
      expect(ok.status).toBe(303);
      expect(ok.headers.get("location")).toBe("/");
      expect(ok.headers.get("set-cookie")).toBe(`opcua_ingest_token=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`);
      expect(ok.headers.get("referrer-policy")).toBe("no-referrer");
      const wrong = await fetch(`${base}/?token=nope`, { redirect: "manual" });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("set-cookie")).toBeNull();
      expect(await (await fetch(`${base}/healthz?token=${TOKEN}`)).text()).toBe("next");
      expect(await (await fetch(`${base}/`)).text()).toBe("next");
    } finally {
      server.close();
    }
  });
});

describe("safeUrl / safeText", () => {
  it("drops user info, query and fragment; masks bearer values", () => {
    expect(safeUrl("opc.tcp://u:p@host:4840")).toBe("opc.tcp://host:4840");
    expect(safeUrl("https://api.example.test/ingest/?a=1#x")).toBe("https://api.example.test/ingest/");
    expect(safeUrl("not a url user:pw@x")).toBe("not a url user:pw@x");
    expect(safeText("network: ECONNREFUSED connect to http://a:b@h:1/x, authorization: Bearer eyJ.x")).toBe("network: ECONNREFUSED connect to http://h:1/x, authorization: Bearer ***");
  });
});
