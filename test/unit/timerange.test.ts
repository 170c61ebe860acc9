import { describe, expect, it } from "vitest";
import { parseTime, parseTimeRange, TimeRangeError } from "../../src/flows/timerange.js";

const NOW = Date.UTC(2024, 5, 15, 12, 0, 0, 500);

describe("parseTime", () => {
  it("takes ISO 8601 with a zone: Z, ±hh:mm, ±hhmm, ±hh, fractions truncated to the millisecond", () => {
    expect(parseTime("2024-03-01T00:00:00Z", NOW).ms).toBe(Date.UTC(2024, 2, 1));
    expect(parseTime("2024-03-01T00:00Z", NOW).ms).toBe(Date.UTC(2024, 2, 1));
    expect(parseTime("2024-03-01T06:00:00+01:00", NOW).ms).toBe(Date.UTC(2024, 2, 1, 5));
    expect(parseTime("2024-03-01T06:00:00+0130", NOW).ms).toBe(Date.UTC(2024, 2, 1, 4, 30));
    expect(parseTime("2024-03-01T06:00:00-05", NOW).ms).toBe(Date.UTC(2024, 2, 1, 11));
    expect(parseTime("2024-03-01T00:00:00.123456Z", NOW).ms).toBe(Date.UTC(2024, 2, 1, 0, 0, 0, 123));
    expect(parseTime("2024-03-01T00:00:00.9999Z", NOW).ms).toBe(Date.UTC(2024, 2, 1, 0, 0, 0, 999));
    expect(parseTime("2024-03-01t00:00:00z", NOW).ms).toBe(Date.UTC(2024, 2, 1));
    expect(parseTime("2024-03-01T00:00:00Z", NOW).relative).toBe(false);
  });

  it("the zone is the string's, not the machine's", () => {
    const before = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      expect(parseTime("2024-03-01T00:00:00+02:00", NOW).ms).toBe(Date.UTC(2024, 1, 29, 22));
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  it("refuses a time without zone and says to add one", () => {
    expect(() => parseTime("2024-03-01T00:00:00", NOW, "from")).toThrow(TimeRangeError);
    expect(() => parseTime("2024-03-01T00:00:00", NOW, "from")).toThrow(/--from: "2024-03-01T00:00:00" has no time zone; add one, e\.g\. "2024-03-01T00:00:00Z"/);
    expect(() => parseTime("2024-03-01", NOW, "to")).toThrow(/has no time zone; add one, e\.g\. "2024-03-01T00:00:00Z"/);
  });

  it("relative forms: now, -30m, -12h, -7d, -2w, -90s", () => {
    expect(parseTime("now", NOW)).toEqual({ ms: NOW, relative: true, text: "now" });
    expect(parseTime("NOW", NOW).ms).toBe(NOW);
    expect(parseTime("-30m", NOW).ms).toBe(NOW - 30 * 60_000);
    expect(parseTime("-12h", NOW).ms).toBe(NOW - 12 * 3_600_000);
    expect(parseTime("-7d", NOW).ms).toBe(NOW - 7 * 86_400_000);
    expect(parseTime("-2w", NOW).ms).toBe(NOW - 14 * 86_400_000);
    expect(parseTime("-90s", NOW).ms).toBe(NOW - 90_000);
    expect(parseTime("-7d", NOW).relative).toBe(true);
  });

  it("names the flag and the allowed forms for anything else", () => {
    for (const bad of ["", "yesterday", "-7x", "-1.5h", "7d", "2024-13-01T00:00Z", "-d"]) {
      expect(() => parseTime(bad, NOW, "from"), bad).toThrow(TimeRangeError);
    }
    expect(() => parseTime("-1.5h", NOW, "from")).toThrow(/--from: "-1.5h" is not a relative time; use -30m, -12h, -7d or -2w/);
    expect(() => parseTime("yesterday", NOW, "to")).toThrow(/--to: "yesterday" is not a time .*ISO 8601 with a zone/);
  });
});

describe("parseTimeRange", () => {
  it("resolves both ends against the same now", () => {
    const r = parseTimeRange("-1h", "now", NOW);
    expect(r.from.ms).toBe(NOW - 3_600_000);
    expect(r.to.ms).toBe(NOW);
  });

  it("from must be before to", () => {
    expect(() => parseTimeRange("now", "-1h", NOW)).toThrow(/must be before --to/);
    expect(() => parseTimeRange("2024-03-01T00:00Z", "2024-03-01T01:00+01:00", NOW)).toThrow(/must be before --to .*\[from, to\)/);
  });

  it("both are required", () => {
    expect(() => parseTimeRange(undefined, "now", NOW)).toThrow(/--from is required/);
    expect(() => parseTimeRange("-1h", undefined, NOW)).toThrow(/--to is required/);
  });
});
