import { describe, expect, it } from "vitest";
import { FaultQueue, faultProblem } from "../../src/dev/emulator-faults.js";
import { EmulatorStore, PointSeries } from "../../src/dev/emulator-store.js";
import { TokenAuthority } from "../../src/dev/emulator-token.js";

const at = (iso: string) => Date.parse(iso);
const v = (iso: string, value: string, qualityOfValue?: number) => ({ ms: at(iso), value, ...(qualityOfValue !== undefined && { qualityOfValue }) });

describe("EmulatorStore", () => {
  it("drops the documented example's third value (index 2)", () => {
    const store = new EmulatorStore();
    const dropped = store.write("p", "pt", [v("2022-07-11T11:11:30.333Z", "a"), v("2022-07-11T11:11:30.222Z", "b"), v("2022-07-11T11:11:30.333Z", "c"), v("2022-07-11T11:11:30.444Z", "d")], false);
    expect(dropped).toEqual([2]);
    expect(store.values("p", "pt")).toEqual([
      { timestamp: "2022-07-11T11:11:30.222Z", value: "b" },
      { timestamp: "2022-07-11T11:11:30.333Z", value: "a" },
      { timestamp: "2022-07-11T11:11:30.444Z", value: "d" },
    ]);
  });

  it("drops values already stored by an earlier request", () => {
    const store = new EmulatorStore();
    store.write("p", "pt", [v("2022-07-11T11:11:30.333Z", "a")], false);
    expect(store.write("p", "pt", [v("2022-07-11T11:11:30.334Z", "b"), v("2022-07-11T11:11:30.333Z", "c")], false)).toEqual([1]);
    expect(store.values("p", "pt").map((x) => x.value)).toEqual(["a", "b"]);
  });

  it("with overwrite replaces completely and the last item of a request wins", () => {
    const store = new EmulatorStore();
    store.write("p", "pt", [v("2022-07-11T11:11:30.333Z", "old", 3)], false);
    expect(store.write("p", "pt", [v("2022-07-11T11:11:30.333Z", "x", 1), v("2022-07-11T11:11:30.333Z", "new")], true)).toEqual([]);
    expect(store.values("p", "pt")).toEqual([{ timestamp: "2022-07-11T11:11:30.333Z", value: "new" }]);
  });

  it("keeps partitions and points apart", () => {
    const store = new EmulatorStore();
    store.write("p1", "b", [v("2022-07-11T11:11:30.333Z", "1")], false);
    store.write("p1", "a", [v("2022-07-11T11:11:30.333Z", "2")], false);
    store.write("p2", "a", [v("2022-07-11T11:11:30.333Z", "3")], false);
    expect(store.points("p1")).toEqual(["a", "b"]);
    expect(store.values("p2", "a").map((x) => x.value)).toEqual(["3"]);
    expect(store.values("p3", "a")).toEqual([]);
  });
});

describe("PointSeries", () => {
  it("pages a range [from, to) and says whether more follows", () => {
    const series = new PointSeries();
    for (const ms of [50, 10, 40, 20, 30]) series.set(ms, { value: String(ms) });
    expect(series.range(15, 45, 2)).toEqual({ rows: [[20, { value: "20" }], [30, { value: "30" }]], more: true });
    expect(series.range(31, 45, 2)).toEqual({ rows: [[40, { value: "40" }]], more: false });
    expect(series.range(15, 40, 2).more).toBe(false);
  });

  it("stores a few hundred thousand values, mostly in order, quickly and sorted", () => {
    const series = new PointSeries();
    const n = 300_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      // every 100th value arrives late, as reconnect backfills do
      const ms = i % 100 === 99 ? (i - 50) * 10 + 5 : i * 10;
      series.set(ms, { value: String(i) });
      if (i % 10_000 === 0) series.range(0, Infinity, 1);
    }
    const { rows } = series.range(-Infinity, Infinity, Infinity);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(series.size).toBe(n);
    expect(rows).toHaveLength(n);
    expect(rows.every(([ms], i) => i === 0 || ms > rows[i - 1]![0])).toBe(true);
  });
});

describe("PointSeries against a Map of every value", () => {
  it("answers has, size and every range alike, in and out of order, with replacements and qualities (-0 too)", () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    const qualities = [undefined, 0, -0, 3];
    for (const spread of [50, 5_000]) {
      const series = new PointSeries();
      const model = new Map<number, { value: string; qualityOfValue?: number }>();
      const differences: string[] = [];
      let clock = 1_700_000_000_000;
      for (let op = 0; op < 20_000; op++) {
        // mostly forward in time, sometimes back into the past (late values, replacements)
        const ms = random(10) < 8 ? (clock += 1 + random(3)) : clock - random(spread);
        if (series.has(ms) !== model.has(ms)) differences.push(`has(${ms}) at op ${op}`);
        const quality = qualities[random(4)];
        // texts of every kind: empty, non-ASCII, a lone surrogate, now and then a long one (beyond a read chunk);
        // replacements leave waste that gets compacted
        const text = random(100) === 0 ? "y".repeat(random(10_000)) : [`v${op}`, "", "ä°C", "\ud800x"][random(4)]!;
        const entry = quality === undefined ? { value: text } : { value: text, qualityOfValue: quality };
        series.set(ms, entry);
        model.set(ms, entry);
        if (series.size !== model.size) differences.push(`size at op ${op}`);
        if (random(500) === 0) {
          // toEqual tells -0 from 0
          const from = clock - random(spread * 2);
          const expected = [...model].filter(([t]) => t >= from).sort((a, b) => a[0] - b[0]);
          expect(series.range(from, Infinity, 1_000)).toEqual({ rows: expected.slice(0, 1_000), more: expected.length > 1_000 });
        }
      }
      expect(differences).toEqual([]);
      expect(series.range(-Infinity, Infinity, Infinity).rows).toEqual([...model].sort((a, b) => a[0] - b[0]));
    }
  });
});

describe("PointSeries texts", () => {
  it("keeps the last text of values replaced again and again, their old texts compacted away", () => {
    const series = new PointSeries();
    const model = new Map<number, { value: string }>();
    for (let round = 0; round < 50; round++) {
      for (let ms = 0; ms < 200; ms++) {
        const entry = { value: `${round}:${ms}:${"x".repeat((ms * round) % 40)}` };
        series.set(ms, entry);
        model.set(ms, entry);
      }
      if (round % 10 === 0) expect(series.range(-Infinity, Infinity, Infinity).rows).toEqual([...model]);
    }
    expect(series.range(-Infinity, Infinity, Infinity).rows).toEqual([...model]);
  });
});

describe("TokenAuthority", () => {
  it("issues JWT-shaped tokens that expire on its clock", () => {
    let now = 1_700_000_000_000;
    const authority = new TokenAuthority("http://emulator/", "aud", () => now);
    const token = authority.issue("client", 10);
    const [header, payload, signature] = token.split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    expect(JSON.parse(Buffer.from(payload!, "base64url").toString())).toMatchObject({ aud: "aud", exp: 1_700_000_010, iat: 1_700_000_000 });
    expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authority.verify(token)).toBe("valid");
    now += 10_000;
    expect(authority.verify(token)).toBe("expired");
  });

  it("does not know tokens of another emulator or tampered ones", () => {
    const a = new TokenAuthority("i", "aud", Date.now);
    const b = new TokenAuthority("i", "aud", Date.now);
    const token = a.issue("client", 60);
    expect(b.verify(token)).toBe("unknown");
    const [header, , signature] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ exp: 9_999_999_999 })).toString("base64url");
    expect(a.verify(`${header}.${forged}.${signature}`)).toBe("unknown");
    expect(a.verify("not-a-jwt")).toBe("unknown");
  });
});

describe("FaultQueue", () => {
  it("uses up counts in order, per point and per kind", () => {
    const queue = new FaultQueue();
    queue.add({ status: 503, count: 1, pointId: "a" });
    queue.add({ status: 429, count: 2 });
    queue.add({ status: 500, count: 1, kind: "token" });
    expect(queue.takeForValues("b")?.status).toBe(429);
    expect(queue.takeForValues("a")?.status).toBe(503);
    expect(queue.takeForValues("a")?.status).toBe(429);
    expect(queue.takeForValues("a")).toBeUndefined();
    expect(queue.takeForToken()?.status).toBe(500);
    expect(queue.takeForToken()).toBeUndefined();
  });

  it("clears", () => {
    const queue = new FaultQueue();
    queue.add({ status: 503, count: 5 });
    queue.clear();
    expect(queue.takeForValues("a")).toBeUndefined();
  });

  it.each([
    [{ status: 503, count: 0 }, /count/],
    [{ status: 204, count: 1 }, /status/],
    [{ status: 503, count: 1, kind: "boom" }, /kind/],
    [{ status: 503, count: 1, retryAfterS: -1 }, /retryAfterS/],
    [{ status: 503, count: 1, kind: "token", pointId: "a" }, /pointId/],
    [{ status: 503, count: 1, point: "a" }, /unknown/],
  ])("refuses %j", (fault, reason) => {
    expect(faultProblem(fault)).toMatch(reason);
    expect(() => new FaultQueue().add(fault as never)).toThrow(TypeError);
  });

  it("needs no status for a reset", () => {
    expect(faultProblem({ status: 0, count: 1, kind: "reset" })).toBeUndefined();
  });
});
