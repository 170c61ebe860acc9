import { describe, expect, it } from "vitest";
import {
  acceptsJsonApi,
  checkOverwrite,
  checkPageQuery,
  checkValuesDocument,
  decodeCursor,
  encodeCursor,
  isJsonApiContentType,
  parseCanonical,
  parseGeneral,
  parseTimestamp,
  type Problem,
} from "../../src/dev/emulator-validate.js";

const item = (attributes: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: "PointValue", attributes, ...extra });
const ok = (timestamp: string, value = "1") => item({ timestamp, value });

function problemsOf(doc: unknown): Problem[] {
  const check = checkValuesDocument(doc);
  if (check.ok) throw new Error("expected the document to be rejected");
  return check.problems;
}

const pointers = (problems: Problem[]) => problems.map((p) => (p.source && "pointer" in p.source ? p.source.pointer : undefined));

describe("parseTimestamp", () => {
  it("reads a canonical timestamp exactly", () => {
    expect(parseTimestamp("2000-05-11T10:32:54.964Z")).toEqual({ ms: Date.parse("2000-05-11T10:32:54.964Z"), subMs: false, canonical: true });
  });

  it.each([
    ["2022-07-11T11:11:30Z", "2022-07-11T11:11:30.000Z"],
    ["2022-07-11T11:11:30.3Z", "2022-07-11T11:11:30.300Z"],
    ["2022-07-11T11:11:30.123456789Z", "2022-07-11T11:11:30.123Z"],
    ["2022-07-11T13:11:30.333+02:00", "2022-07-11T11:11:30.333Z"],
    ["2022-07-11T06:41:30.333-04:30", "2022-07-11T11:11:30.333Z"],
    ["2022-07-11T11:11:30.333-00:00", "2022-07-11T11:11:30.333Z"],
    ["2022-07-11T00:30:00.000+01:00", "2022-07-10T23:30:00.000Z"],
    ["2024-02-29T00:00:00.000Z", "2024-02-29T00:00:00.000Z"],
    ["0050-01-01T00:00:00.000Z", "0050-01-01T00:00:00.000Z"],
  ])("truncates %s to the millisecond %s and marks it non-canonical when it differs", (text, iso) => {
    const parsed = parseTimestamp(text);
    expect(parsed?.ms).toBe(Date.parse(iso));
    expect(parsed?.canonical).toBe(text === iso);
  });

  it("reads the canonical form without the general parser and agrees with it, invalid days and times included", () => {
    // Every day boundary of a few years (leap, not leap, year 0, year 9999) and random instants.
    const texts: string[] = [];
    for (const year of ["0000", "1900", "2000", "2023", "2024", "9999"]) {
      for (let month = 0; month <= 13; month++) {
        for (const day of [0, 1, 28, 29, 30, 31, 32]) texts.push(`${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}T23:59:59.999Z`);
      }
    }
    for (const time of ["24:00:00.000", "23:60:00.000", "23:59:60.000", "00:00:00.000", "12:34:56.78a"]) texts.push(`2024-02-29T${time}Z`);
    let seed = 42;
    for (let i = 0; i < 2_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      texts.push(new Date(-62_167_219_200_000 + (seed / 2 ** 31) * 315_537_897_599_999).toISOString());
    }
    for (const text of texts) {
      const general = parseGeneral(text);
      // The fast path answers every valid canonical text itself, and leaves nothing valid to the general one wrongly.
      expect(parseCanonical(text), text).toEqual(general);
      expect(parseTimestamp(text), text).toEqual(general);
    }
    expect(texts.filter((t) => parseCanonical(t) === undefined).length).toBeGreaterThan(100);
    expect(texts.filter((t) => parseCanonical(t) !== undefined).length).toBeGreaterThan(2_000);
  });

  it("flags sub-millisecond digits so range bounds can round up", () => {
    expect(parseTimestamp("2022-07-11T11:11:30.3330001Z")?.subMs).toBe(true);
    expect(parseTimestamp("2022-07-11T11:11:30.333000Z")?.subMs).toBe(false);
  });

  it.each([
    "2022-07-11T11:11:30.333", // no zone
    "2022-07-11 11:11:30.333Z",
    "2022-07-11t11:11:30.333z",
    "2022-07-11T11:11:30.Z",
    "2022-07-11T11:11:30.1234567890Z", // 10 fraction digits
    "2022-07-11T11:11Z",
    "2022-7-11T11:11:30Z",
    "2022-13-01T00:00:00Z",
    "2022-00-01T00:00:00Z",
    "2023-02-29T00:00:00Z", // not a leap year
    "2022-04-31T00:00:00Z",
    "2022-07-11T24:00:00Z",
    "2022-07-11T11:60:00Z",
    "2022-12-31T23:59:60Z", // leap second
    "2022-07-11T11:11:30+24:00",
    "2022-07-11T11:11:30+0200",
    "0000-01-01T00:00:00+00:01", // before year 0
    "1658-07-11T11:11:30.333Z ",
    "",
  ])("rejects %j", (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });
});

describe("checkValuesDocument", () => {
  it("accepts the documented example and keeps optional quality", () => {
    const check = checkValuesDocument({ data: [item({ timestamp: "2000-05-11T10:32:54.964Z", value: "12.66", qualityOfValue: 0 })] });
    expect(check).toEqual({ ok: true, items: [{ ms: Date.parse("2000-05-11T10:32:54.964Z"), value: "12.66", qualityOfValue: 0, canonical: true }] });
  });

  it("accepts 1 and 100 values", () => {
    expect(checkValuesDocument({ data: [ok("2022-07-11T11:11:30.000Z")] }).ok).toBe(true);
    const hundred = Array.from({ length: 100 }, (_, i) => ok(new Date(i).toISOString()));
    expect(checkValuesDocument({ data: hundred }).ok).toBe(true);
  });

  it("names the limit for 0 and 101 values", () => {
    expect(problemsOf({ data: [] })[0]?.detail).toMatch(/at least 1/);
    const many = Array.from({ length: 101 }, (_, i) => ok(new Date(i).toISOString()));
    const [problem] = problemsOf({ data: many });
    expect(problem?.detail).toMatch(/101 values; at most 100/);
    expect(pointers([problem!])).toEqual(["/data"]);
  });

  it("points at every invalid attribute", () => {
    const problems = problemsOf({
      data: [
        ok("2022-07-11T11:11:30.000Z"),
        item({ timestamp: "2022-07-11T11:11:30.001Z", value: 12.66 }),
        item({ timestamp: "yesterday", value: "1" }),
        item({ timestamp: "2022-07-11T11:11:30.003Z", value: "1", qualityOfValue: -1 }),
        item({ timestamp: "2022-07-11T11:11:30.004Z", value: "1", qualityOfValue: 1.5 }),
        item({ timestamp: "2022-07-11T11:11:30.005Z", value: "1", unit: "°C" }),
        { type: "pointValue", attributes: { timestamp: "2022-07-11T11:11:30.006Z", value: "1" } },
        item({ value: "1" }),
        { type: "PointValue" },
        "x",
        item({ timestamp: "2022-07-11T11:11:30.010Z", value: "1" }, { id: "a/b" }),
      ],
    });
    expect(pointers(problems)).toEqual([
      "/data/1/attributes/value",
      "/data/2/attributes/timestamp",
      "/data/3/attributes/qualityOfValue",
      "/data/4/attributes/qualityOfValue",
      "/data/5/attributes/unit",
      "/data/6/type",
      "/data/7/attributes/timestamp",
      "/data/8/attributes",
      "/data/9",
      "/data/10/id",
    ]);
    expect(problems.every((p) => p.code === "INVALID_BODY")).toBe(true);
  });

  it("escapes odd member names in the pointer", () => {
    expect(pointers(problemsOf({ data: [ok("2022-07-11T11:11:30.000Z")], "a/b~c": 1 }))).toEqual(["/a~1b~0c"]);
  });

  it.each([[null], [[]], ["text"], [{ data: {} }], [{}]])("rejects the document %j", (doc) => {
    expect(checkValuesDocument(doc).ok).toBe(false);
  });
});

describe("media types", () => {
  it("wants the bare JSON:API content type", () => {
    expect(isJsonApiContentType("application/vnd.api+json")).toBe(true);
    expect(isJsonApiContentType("Application/VND.API+JSON")).toBe(true);
    expect(isJsonApiContentType("application/vnd.api+json; charset=utf-8")).toBe(false);
    expect(isJsonApiContentType("application/json")).toBe(false);
    expect(isJsonApiContentType(undefined)).toBe(false);
  });

  it.each([
    [undefined, true],
    ["", true],
    ["application/vnd.api+json", true],
    ["*/*", true],
    ["application/*", true],
    ["text/html, application/vnd.api+json;q=0.9", true],
    ["application/json", false],
    ["application/vnd.api+json; ext=bulk", false],
    ["application/vnd.api+json;q=0", false],
    ["text/plain", false],
  ])("Accept %j allows JSON:API: %s", (header, allowed) => {
    expect(acceptsJsonApi(header)).toBe(allowed);
  });
});

describe("query parameters", () => {
  const page = (query: string) => checkPageQuery(new URLSearchParams(query));

  it("defaults to the whole range, 100 per page", () => {
    expect(page("")).toEqual({ fromMs: -Infinity, toMs: Infinity, afterMs: -Infinity, limit: 100 });
  });

  it("reads bounds, limit and cursor, rounding sub-millisecond bounds up", () => {
    const query = `filter[timestamp][from]=2022-07-11T11:11:30.3331Z&filter[timestamp][to]=2022-07-11T12:00:00%2B01:00&page[limit]=1000&page[cursor]=${encodeCursor(5)}`;
    expect(page(query)).toEqual({ fromMs: Date.parse("2022-07-11T11:11:30.334Z"), toMs: Date.parse("2022-07-11T11:00:00Z"), afterMs: 5, limit: 1000 });
  });

  it.each([
    ["page[limit]=1001", "page[limit]"],
    ["page[limit]=0", "page[limit]"],
    ["page[limit]=ten", "page[limit]"],
    ["page[cursor]=nonsense!", "page[cursor]"],
    ["filter[timestamp][from]=2022-07-11", "filter[timestamp][from]"],
    ["filter[timestamp][to]=now", "filter[timestamp][to]"],
    ["page[size]=10", "page[size]"],
    ["page[limit]=5&page[limit]=6", "page[limit]"],
  ])("rejects %s naming the parameter", (query, parameter) => {
    const result = page(query);
    expect(result).toHaveProperty("problems");
    expect("problems" in result && result.problems[0]?.source).toEqual({ parameter });
  });

  it("round-trips cursors and refuses forged ones", () => {
    for (const ms of [0, 1658_000_000_123, -5]) expect(decodeCursor(encodeCursor(ms))).toBe(ms);
    expect(decodeCursor(Buffer.from("12.5").toString("base64url"))).toBeUndefined();
    expect(decodeCursor(`${encodeCursor(7)}!`)).toBeUndefined();
  });

  it("takes overwrite as true or false only", () => {
    expect(checkOverwrite(new URLSearchParams(""))).toBe(false);
    expect(checkOverwrite(new URLSearchParams("overwrite=true"))).toBe(true);
    expect(checkOverwrite(new URLSearchParams("overwrite=false"))).toBe(false);
    expect(checkOverwrite(new URLSearchParams("overwrite=yes"))).toHaveProperty("problems");
    expect(checkOverwrite(new URLSearchParams("overwrite=true&x=1"))).toHaveProperty("problems");
  });
});
