import { describe, expect, it } from "vitest";
import { Comparer } from "../../src/transform/compare.js";

const v = (ts: number, value = `v${ts}`) => ({ ts, value });

describe("Comparer", () => {
  it("counts matched, missing, different and extra values, and the mismatch span", () => {
    const seen: string[] = [];
    const c = new Comparer((kind, h, a) => seen.push(`${kind}@${(h ?? a)!.ts}`));
    c.window([v(1), v(2), v(3), v(5)], [v(1), v(3, "changed"), v(4), v(5)]);
    expect(c.result).toEqual({ matched: 2, missing: 1, different: 1, extra: 1, firstMismatch: 2, lastMismatch: 4 });
    expect(seen).toEqual(["missing@2", "different@3", "extra@4"]);
  });

  it("accumulates over windows", () => {
    const c = new Comparer();
    c.window([v(1)], [v(1)]);
    c.window([], [v(10)]);
    c.window([v(20)], []);
    expect(c.result).toEqual({ matched: 1, missing: 1, different: 0, extra: 1, firstMismatch: 10, lastMismatch: 20 });
  });

  it("reports nothing when both sides agree", () => {
    const c = new Comparer();
    c.window([v(1), v(2)], [v(1), v(2)]);
    expect(c.result).toEqual({ matched: 2, missing: 0, different: 0, extra: 0 });
  });
});
