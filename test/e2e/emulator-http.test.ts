// The emulator over real HTTP on 127.0.0.1, one rule per test.

import { afterEach, describe, expect, it } from "vitest";
import { Client, request } from "undici";
import { startEmulator, type Emulator, type EmulatorOptions } from "../../src/dev/emulator.js";

const JSON_API = "application/vnd.api+json";
const PARTITION = "part-1";
const POINT = "0f8fad5b-d9cb-469f-a165-70867728950e";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.close()));
});

async function emulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const started = await startEmulator(opts);
  running.push(started);
  return started;
}

async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const res = await request(url, { method: (init.method ?? "GET") as "GET", headers: init.headers, body: init.body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: text === "" ? undefined : JSON.parse(text) };
}

const grant = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ client_id: "demo-client", client_secret: "demo-secret", audience: "https://horizon.siemens.com", grant_type: "client_credentials", ...overrides });

function postToken(emu: Emulator, body = grant(), contentType = "application/json"): Promise<Answer> {
  return call(emu.tokenUrl, { method: "POST", headers: { "content-type": contentType }, body });
}

async function tokenOf(emu: Emulator): Promise<string> {
  const answer = await postToken(emu);
  expect(answer.status).toBe(200);
  return answer.json.access_token as string;
}

const valuesUrl = (emu: Emulator, point = POINT, query = "") => `${emu.baseUrl}/partitions/${PARTITION}/points/${encodeURIComponent(point)}/values${query}`;
const item = (timestamp: string, value = "1", more: Record<string, unknown> = {}) => ({ type: "PointValue", attributes: { timestamp, value, ...more } });
const series = (n: number, startMs = Date.parse("2022-07-11T00:00:00Z"), stepMs = 1000) =>
  Array.from({ length: n }, (_, i) => item(new Date(startMs + i * stepMs).toISOString(), String(i)));

interface PostOptions {
  token?: string;
  point?: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string;
}

function postValues(emu: Emulator, data: unknown[], opts: PostOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { accept: JSON_API, "content-type": JSON_API, ...opts.headers };
  if (opts.token !== undefined) headers["authorization"] = `Bearer ${opts.token}`;
  return call(valuesUrl(emu, opts.point, opts.query), { method: "POST", headers, body: opts.body ?? JSON.stringify({ data }) });
}

function getValues(emu: Emulator, token: string, query = "", point = POINT): Promise<Answer> {
  return call(valuesUrl(emu, point, query), { headers: { accept: JSON_API, authorization: `Bearer ${token}` } });
}

function expectJsonApiError(answer: Answer, status: number, pointer?: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers["content-type"]).toBe(JSON_API);
  const [error] = answer.json.errors;
  expect(error).toMatchObject({ status: String(status), code: expect.any(String), title: expect.any(String), detail: expect.any(String), id: expect.any(String) });
  if (pointer !== undefined) expect(error.source).toEqual({ pointer });
}

describe("token endpoint", () => {
  it("issues a JWT-shaped bearer token with an exp claim", async () => {
    const emu = await emulator({ tokenLifetimeS: 3600 });
    const answer = await postToken(emu);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/), token_type: "Bearer", expires_in: 3600 });
    const claims = JSON.parse(Buffer.from(answer.json.access_token.split(".")[1], "base64url").toString());
    expect(claims.exp - claims.iat).toBe(3600);
    expect(emu.stats()).toMatchObject({ tokensIssued: 1, tokenRequests: 1 });
  });

  it("honours configured credentials and audience", async () => {
    const emu = await emulator({ clientId: "c", clientSecret: "s", audience: "https://tenant.example" });
    expect((await postToken(emu, grant({ client_id: "c", client_secret: "s", audience: "https://tenant.example" }))).status).toBe(200);
    expect((await postToken(emu)).status).toBe(401);
  });

  it.each([
    ["a wrong secret", grant({ client_secret: "nope" }), 401, "access_denied"],
    ["a missing client_id", grant({ client_id: undefined }), 401, "access_denied"],
    ["a wrong audience", grant({ audience: "https://elsewhere" }), 401, "access_denied"],
    ["a wrong grant_type", grant({ grant_type: "password" }), 400, "unsupported_grant_type"],
    ["a missing grant_type", grant({ grant_type: undefined }), 400, "invalid_request"],
    ["malformed JSON", "{client_id:", 400, "invalid_request"],
    ["a JSON array", "[]", 400, "invalid_request"],
  ])("refuses %s with an OAuth error", async (_case, body, status, error) => {
    const emu = await emulator();
    const answer = await postToken(emu, body);
    expect(answer.status).toBe(status);
    expect(answer.json).toEqual({ error, error_description: expect.any(String) });
    expect(emu.stats()).toMatchObject({ tokensIssued: 0, tokenRequests: 1 });
  });

  it("wants a JSON body", async () => {
    const emu = await emulator();
    const answer = await postToken(emu, "grant_type=client_credentials", "application/x-www-form-urlencoded");
    expect(answer.status).toBe(400);
    expect((await postToken(emu, grant(), "application/json; charset=utf-8")).status).toBe(200);
  });
});

describe("authorization of values requests", () => {
  it("answers 401 without, with a malformed or with an unknown bearer token", async () => {
    const emu = await emulator();
    const other = await emulator();
    const foreign = await tokenOf(other);
    const data = series(1);
    expectJsonApiError(await postValues(emu, data), 401);
    expectJsonApiError(await postValues(emu, data, { headers: { authorization: "Basic ZGVtbzpkZW1v" } }), 401);
    expectJsonApiError(await postValues(emu, data, { headers: { authorization: "Bearer" } }), 401);
    const unknown = await postValues(emu, data, { token: foreign });
    expectJsonApiError(unknown, 401);
    expect(unknown.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
    expectJsonApiError(await getValues(emu, foreign), 401);
    expect(emu.stats().byStatus).toEqual({ "401": 4 });
    expect(emu.values(PARTITION, POINT)).toEqual([]);
  });

  it("answers 401 once the token has expired, on the injected clock", async () => {
    let now = Date.parse("2024-01-01T00:00:00Z");
    const emu = await emulator({ tokenLifetimeS: 1, now: () => now });
    const token = await tokenOf(emu);
    expect((await postValues(emu, series(1), { token })).status).toBe(204);
    now += 1000;
    const expired = await postValues(emu, series(1, 0), { token });
    expectJsonApiError(expired, 401);
    expect(expired.json.errors[0].detail).toMatch(/expired/);
    expect((await postValues(emu, series(1, 0), { token: await tokenOf(emu) })).status).toBe(204);
  });
});

describe("values POST", () => {
  it("answers 415 to any content type but the bare JSON:API one", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    for (const contentType of ["application/json", "application/vnd.api+json; charset=utf-8", "text/plain"]) {
      expectJsonApiError(await postValues(emu, series(1), { token, headers: { "content-type": contentType } }), 415);
    }
  });

  it("answers 406 when Accept excludes JSON:API, and accepts */* or no Accept", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    expectJsonApiError(await postValues(emu, series(1), { token, headers: { accept: "application/json" } }), 406);
    expect((await postValues(emu, series(1), { token, headers: { accept: "*/*" } })).status).toBe(204);
    const bare = await call(valuesUrl(emu), { method: "POST", headers: { "content-type": JSON_API, authorization: `Bearer ${token}` }, body: JSON.stringify({ data: series(1, 0) }) });
    expect(bare.status).toBe(204);
  });

  it("stores 1 and 100 values with 204 and an empty body, and refuses 101", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    const one = await postValues(emu, series(1, 0), { token });
    expect(one).toMatchObject({ status: 204, text: "" });
    expect((await postValues(emu, series(100, 1000), { token })).status).toBe(204);
    const tooMany = await postValues(emu, series(101, 1_000_000), { token });
    expectJsonApiError(tooMany, 400, "/data");
    expect(tooMany.json.errors[0].detail).toMatch(/at most 100/);
    expectJsonApiError(await postValues(emu, [], { token }), 400, "/data");
    expect(emu.values(PARTITION, POINT)).toHaveLength(101);
    expect(emu.stats()).toMatchObject({ requests: 4, valuesReceived: 101, valuesStored: 101, maxValuesInRequest: 100, byStatus: { "204": 2, "400": 2 } });
  });

  it("rejects the whole request when one value is invalid, pointing at it", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    const data = [...series(3), item("2022-07-11 00:00:03Z"), item("2022-07-11T00:00:04.000Z", 4 as never)];
    const answer = await postValues(emu, data, { token });
    expectJsonApiError(answer, 400, "/data/3/attributes/timestamp");
    expect(answer.json.errors[1].source).toEqual({ pointer: "/data/4/attributes/value" });
    expect(emu.values(PARTITION, POINT)).toEqual([]);
  });

  it("answers 400 to malformed JSON and 413 to a body over 1 MiB", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    expectJsonApiError(await postValues(emu, [], { token, body: '{"data": [' }), 400);
    const big = JSON.stringify({ data: [item("2022-07-11T00:00:00.000Z", "x".repeat(1024 * 1024))] });
    expectJsonApiError(await postValues(emu, [], { token, body: big }), 413);
    expect((await postValues(emu, series(1), { token })).status).toBe(204);
  });

  it("drops the third value of the documented example with 202 and its index", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    const data = ["30.333", "30.222", "30.333", "30.444"].map((s, i) => item(`2022-07-11T11:11:${s}Z`, String(i)));
    const answer = await postValues(emu, data, { token });
    expect(answer.status).toBe(202);
    expect(answer.headers["content-type"]).toBe(JSON_API);
    expect(answer.json).toEqual({ meta: { conflicts: [2] } });
    expect(emu.values(PARTITION, POINT)).toEqual([
      { timestamp: "2022-07-11T11:11:30.222Z", value: "1" },
      { timestamp: "2022-07-11T11:11:30.333Z", value: "0" },
      { timestamp: "2022-07-11T11:11:30.444Z", value: "3" },
    ]);
    expect(emu.stats()).toMatchObject({ valuesReceived: 4, valuesStored: 3, conflicts: 1, byStatus: { "202": 1 } });
  });

  it("drops values whose millisecond is already stored; a resent batch is all conflicts", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    const batch = series(5);
    expect((await postValues(emu, batch, { token })).status).toBe(204);
    expect((await postValues(emu, batch, { token })).json).toEqual({ meta: { conflicts: [0, 1, 2, 3, 4] } });
    const mixed = [item("2022-07-11T00:00:05.000Z", "new"), item("2022-07-11T00:00:01.000Z", "changed")];
    expect((await postValues(emu, mixed, { token })).json).toEqual({ meta: { conflicts: [1] } });
    expect(emu.values(PARTITION, POINT).map((v) => v.value)).toEqual(["0", "1", "2", "3", "4", "new"]);
  });

  it("with overwrite=true replaces stored values completely, the last of a request winning", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    await postValues(emu, [item("2022-07-11T00:00:00.000Z", "old", { qualityOfValue: 2 })], { token });
    const data = [item("2022-07-11T00:00:00.000Z", "first"), item("2022-07-11T00:00:00.000Z", "second"), item("2022-07-11T00:00:01.000Z", "fresh")];
    expect((await postValues(emu, data, { token, query: "?overwrite=true" })).status).toBe(204);
    expect(emu.values(PARTITION, POINT)).toEqual([
      { timestamp: "2022-07-11T00:00:00.000Z", value: "second" },
      { timestamp: "2022-07-11T00:00:01.000Z", value: "fresh" },
    ]);
    expect((await postValues(emu, series(1), { token, query: "?overwrite=false" })).status).toBe(202);
    expectJsonApiError(await postValues(emu, series(1), { token, query: "?overwrite=1" }), 400);
    expectJsonApiError(await postValues(emu, series(1), { token, query: "?force=true" }), 400);
  });

  it("truncates non-canonical timestamps to the millisecond and counts them", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    const data = [
      item("2022-07-11T11:11:30.3339Z", "a", { qualityOfValue: 0 }),
      item("2022-07-11T13:11:31+02:00", "b"),
      item("2022-07-11T11:11:32.500Z", "c"),
    ];
    expect((await postValues(emu, data, { token })).status).toBe(204);
    expect((await postValues(emu, [item("2022-07-11T11:11:30.333Z", "dup")], { token })).json).toEqual({ meta: { conflicts: [0] } });
    expect(emu.values(PARTITION, POINT)).toEqual([
      { timestamp: "2022-07-11T11:11:30.333Z", value: "a", qualityOfValue: 0 },
      { timestamp: "2022-07-11T11:11:31.000Z", value: "b" },
      { timestamp: "2022-07-11T11:11:32.500Z", value: "c" },
    ]);
    expect(emu.stats().nonCanonicalTimestamps).toBe(2);
  });

  it("answers 404 for points outside knownPoints, until the list is lifted", async () => {
    const emu = await emulator({ knownPoints: [POINT] });
    const token = await tokenOf(emu);
    expect((await postValues(emu, series(1), { token })).status).toBe(204);
    expectJsonApiError(await postValues(emu, series(1), { token, point: "ghost" }), 404);
    expectJsonApiError(await getValues(emu, token, "", "ghost"), 404);
    emu.setKnownPoints(["ghost"]);
    expectJsonApiError(await postValues(emu, series(1, 0), { token }), 404);
    emu.setKnownPoints(undefined);
    expect((await postValues(emu, series(1), { token, point: "any/point id" })).status).toBe(204);
    expect(emu.points(PARTITION)).toEqual([POINT, "any/point id"].sort());
  });
});

describe("values GET", () => {
  async function seeded(n: number) {
    const emu = await emulator();
    const token = await tokenOf(emu);
    const all = series(n, Date.parse("2022-07-11T00:00:00Z"), 1000);
    for (let i = 0; i < n; i += 100) expect((await postValues(emu, all.slice(i, i + 100), { token })).status).toBe(204);
    return { emu, token };
  }

  async function allPages(emu: Emulator, token: string, query: string): Promise<{ values: string[]; pages: number }> {
    const values: string[] = [];
    let pages = 0;
    let next: string | undefined = `/partitions/${PARTITION}/points/${POINT}/values${query}`;
    while (next !== undefined) {
      expect(next.startsWith("/partitions/")).toBe(true);
      const answer = await call(emu.baseUrl + next, { headers: { authorization: `Bearer ${token}` } });
      expect(answer.status).toBe(200);
      values.push(...answer.json.data.map((d: { attributes: { value: string } }) => d.attributes.value));
      next = answer.json.links.next;
      pages += 1;
    }
    return { values, pages };
  }

  it("answers JSON:API resources, ascending, 100 per page by default", async () => {
    const { emu, token } = await seeded(150);
    const answer = await getValues(emu, token);
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe(JSON_API);
    expect(answer.json.data).toHaveLength(100);
    expect(answer.json.data[0]).toEqual({
      type: "PointValue",
      id: `${POINT}:${Date.parse("2022-07-11T00:00:00Z")}`,
      attributes: { timestamp: "2022-07-11T00:00:00.000Z", value: "0" },
    });
    expect(answer.json.links.next).toMatch(/^\/partitions\/part-1\/points\/.+\/values\?.*page%5Bcursor%5D=/);
  });

  it("filters from inclusive to exclusive and pages with relative links.next until the last page", async () => {
    const { emu, token } = await seeded(1000);
    const query = "?filter[timestamp][from]=2022-07-11T00:01:40Z&filter[timestamp][to]=2022-07-11T00:08:20.000Z&page[limit]=30";
    const { values, pages } = await allPages(emu, token, query);
    expect(values).toEqual(Array.from({ length: 400 }, (_, i) => String(100 + i)));
    expect(pages).toBe(14);
  });

  it("keeps the cursor stable while values are inserted", async () => {
    const { emu, token } = await seeded(10);
    const first = await getValues(emu, token, "?page[limit]=5");
    expect(first.json.data.map((d: { attributes: { value: string } }) => d.attributes.value)).toEqual(["0", "1", "2", "3", "4"]);
    // one value lands before the cursor, one after it
    await postValues(emu, [item("2022-07-11T00:00:00.500Z", "early"), item("2022-07-11T00:00:05.500Z", "late")], { token });
    const second = await call(emu.baseUrl + first.json.links.next, { headers: { authorization: `Bearer ${token}` } });
    expect(second.json.data.map((d: { attributes: { value: string } }) => d.attributes.value)).toEqual(["5", "late", "6", "7", "8"]);
  });

  it("answers 400 to bad query parameters and an empty page for an unknown point", async () => {
    const { emu, token } = await seeded(1);
    expectJsonApiError(await getValues(emu, token, "?page[limit]=1001"), 400);
    expectJsonApiError(await getValues(emu, token, "?page[cursor]=xyz"), 400);
    expectJsonApiError(await getValues(emu, token, "?filter[timestamp][from]=today"), 400);
    expectJsonApiError(await getValues(emu, token, "?sort=-timestamp"), 400);
    expect((await getValues(emu, token, "?page[limit]=1000")).json.data).toHaveLength(1);
    expect((await getValues(emu, token, "", "nobody")).json).toEqual({ data: [], links: {} });
    const html = await call(valuesUrl(emu), { headers: { accept: "text/html", authorization: `Bearer ${token}` } });
    expectJsonApiError(html, 406);
  });
});

describe("faults", () => {
  it("answers the next values requests with the fault's status and Retry-After, then recovers", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    emu.addFault({ status: 503, count: 2, retryAfterS: 7 });
    for (let i = 0; i < 2; i++) {
      const answer = await postValues(emu, series(1), { token });
      expectJsonApiError(answer, 503);
      expect(answer.headers["retry-after"]).toBe("7");
    }
    expect((await postValues(emu, series(1), { token })).status).toBe(204);
    expect(emu.stats().byStatus).toEqual({ "503": 2, "204": 1 });
  });

  it("limits a fault to one point", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    emu.addFault({ status: 429, count: 1, pointId: "b" });
    expect((await postValues(emu, series(1), { token, point: "a" })).status).toBe(204);
    const limited = await postValues(emu, series(1), { token, point: "b" });
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBeUndefined();
    expect((await postValues(emu, series(1), { token, point: "b" })).status).toBe(204);
  });

  it("resets the connection after reading the body, storing nothing", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    emu.addFault({ status: 0, count: 1, kind: "reset" });
    await expect(postValues(emu, series(3), { token })).rejects.toThrow();
    expect(emu.values(PARTITION, POINT)).toEqual([]);
    expect((await postValues(emu, series(3), { token })).status).toBe(204);
    expect(emu.stats()).toMatchObject({ requests: 2, byStatus: { "204": 1 }, valuesStored: 3 });
  });

  it("fails token requests with kind token", async () => {
    const emu = await emulator();
    emu.addFault({ status: 500, count: 1, kind: "token", retryAfterS: 1 });
    const failed = await postToken(emu);
    expect(failed.status).toBe(500);
    expect(failed.json).toEqual({ error: "server_error", error_description: expect.any(String) });
    expect(failed.headers["retry-after"]).toBe("1");
    expect((await postToken(emu)).status).toBe(200);
    expect(emu.stats()).toMatchObject({ tokenRequests: 2, tokensIssued: 1 });
  });

  it("clears pending faults", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    emu.addFault({ status: 503, count: 10 });
    emu.clearFaults();
    expect((await postValues(emu, series(1), { token })).status).toBe(204);
    expect(() => emu.addFault({ status: 503, count: 0 })).toThrow(TypeError);
  });
});

describe("control endpoints", () => {
  it("drives faults, stats and values over HTTP without a token", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    const json = { "content-type": "application/json" };
    expect((await call(`${emu.url}/_emulator/faults`, { method: "POST", headers: json, body: JSON.stringify({ status: 502, count: 1 }) })).status).toBe(204);
    expect((await postValues(emu, series(2), { token })).status).toBe(502);
    expect((await call(`${emu.url}/_emulator/faults`, { method: "POST", headers: json, body: JSON.stringify({ status: 502, count: 5 }) })).status).toBe(204);
    expect((await call(`${emu.url}/_emulator/faults`, { method: "DELETE" })).status).toBe(204);
    expect((await postValues(emu, series(2), { token })).status).toBe(204);
    const invalid = await call(`${emu.url}/_emulator/faults`, { method: "POST", headers: json, body: JSON.stringify({ status: 502 }) });
    expect(invalid.status).toBe(400);

    const stats = await call(`${emu.url}/_emulator/stats`);
    expect(stats.json).toEqual({ ...emu.stats() });
    expect(stats.json).toMatchObject({ requests: 2, byStatus: { "502": 1, "204": 1 }, valuesStored: 2, tokensIssued: 1 });

    const values = await call(`${emu.url}/_emulator/values?partition=${PARTITION}&point=${POINT}`);
    expect(values.json).toEqual(emu.values(PARTITION, POINT));
    expect(values.json).toHaveLength(2);
    expect((await call(`${emu.url}/_emulator/values?partition=${PARTITION}`)).status).toBe(400);
  });
});

describe("routing", () => {
  it("answers 404 to unknown routes and 405 with Allow to wrong methods", async () => {
    const emu = await emulator();
    expectJsonApiError(await call(`${emu.url}/ingest/partitions/${PARTITION}/points`), 404);
    expectJsonApiError(await call(`${emu.url}/partitions/${PARTITION}/points/${POINT}/values`), 404);
    expectJsonApiError(await call(`${valuesUrl(emu)}/`), 404);
    const wrong = await call(valuesUrl(emu), { method: "DELETE" });
    expectJsonApiError(wrong, 405);
    expect(wrong.headers["allow"]).toBe("GET, POST");
    expect((await call(emu.tokenUrl)).status).toBe(405);
    expect((await call(`${emu.url}/_emulator/stats`, { method: "POST" })).status).toBe(405);
  });

  it("logs one line per answer", async () => {
    const lines: string[] = [];
    const emu = await emulator({ log: (line) => lines.push(line) });
    await tokenOf(emu);
    expect(lines).toEqual(["POST /oauth/token -> 200"]);
  });
});

describe("latency and shutdown", () => {
  it("delays values answers by latencyMs", async () => {
    const emu = await emulator({ latencyMs: 150 });
    const token = await tokenOf(emu);
    const started = performance.now();
    expect((await postValues(emu, series(1), { token })).status).toBe(204);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("closes with idle keep-alive connections and with requests waiting on latency", async () => {
    const emu = await startEmulator({ latencyMs: 60_000 });
    const client = new Client(emu.url, { keepAliveTimeout: 60_000 });
    try {
      const token = (await (await client.request({ method: "POST", path: "/oauth/token", headers: { "content-type": "application/json" }, body: grant() })).body.json()) as { access_token: string };
      const parked = client.request({
        method: "POST",
        path: `/ingest/partitions/${PARTITION}/points/${POINT}/values`,
        headers: { "content-type": JSON_API, authorization: `Bearer ${token.access_token}` },
        body: JSON.stringify({ data: series(1) }),
      });
      parked.catch(() => undefined);
      await expect.poll(() => emu.stats().requests).toBe(1);
      const started = performance.now();
      await emu.close();
      expect(performance.now() - started).toBeLessThan(1000);
      await expect(parked).rejects.toThrow();
    } finally {
      await client.destroy();
    }
  });

  it("closes while an idle keep-alive socket stays open", async () => {
    const emu = await startEmulator();
    const client = new Client(emu.url, { keepAliveTimeout: 60_000 });
    try {
      const answer = await client.request({ method: "GET", path: "/_emulator/stats" });
      await answer.body.json();
      await emu.close();
      await emu.close(); // idempotent
    } finally {
      await client.destroy();
    }
  });
});

describe("volume", () => {
  it("stores 200 000 values over keep-alive and pages them all back", async () => {
    const emu = await emulator();
    const token = await tokenOf(emu);
    const start = Date.parse("2024-01-01T00:00:00Z");
    const batches = Array.from({ length: 2000 }, (_, b) => JSON.stringify({ data: series(100, start + b * 100 * 10, 10) }));
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const body = batches[next++]!;
        expect((await postValues(emu, [], { token, body })).status).toBe(204);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(emu.stats()).toMatchObject({ valuesStored: 200_000, conflicts: 0, maxValuesInRequest: 100 });

    let count = 0;
    let last = -Infinity;
    let path: string | undefined = `/partitions/${PARTITION}/points/${POINT}/values?page[limit]=1000`;
    while (path !== undefined) {
      const answer = await call(emu.baseUrl + path, { headers: { authorization: `Bearer ${token}` } });
      for (const d of answer.json.data as Array<{ attributes: { timestamp: string } }>) {
        const ms = Date.parse(d.attributes.timestamp);
        expect(ms).toBeGreaterThan(last);
        last = ms;
      }
      count += answer.json.data.length;
      path = answer.json.links.next;
    }
    expect(count).toBe(200_000);
  });
});
