import { describe, expect, it } from "vitest";
import { Glob, GlobError } from "../../src/opcua/browse-glob.js";

describe("browse --filter glob", () => {
  it("matches whole segments literally, * one segment, ** any depth (zero included)", () => {
    const g = new Glob("Plant/Line1/**/Temperature");
    expect(g.test("Plant/Line1/Temperature")).toBe(true);
    expect(g.test("Plant/Line1/Machine1/Temperature")).toBe(true);
    expect(g.test("Plant/Line1/A/B/C/Temperature")).toBe(true);
    expect(g.test("Plant/Line2/Machine1/Temperature")).toBe(false);
    expect(g.test("Plant/Line1/Machine1/Temperature2")).toBe(false);
    expect(g.test("Plant/Line10/Machine1/Temperature")).toBe(false);

    const star = new Glob("Plant/*/Speed");
    expect(star.test("Plant/Line1/Speed")).toBe(true);
    expect(star.test("Plant/Line1/M1/Speed")).toBe(false);
    expect(star.test("Plant/Speed")).toBe(false);
  });

  it("* inside a segment matches any characters but /; regex characters are literal", () => {
    const g = new Glob("Plant/Line*/Temp*");
    expect(g.test("Plant/Line07/Temperature")).toBe(true);
    expect(g.test("Plant/Line/Temp")).toBe(true);
    expect(g.test("Plant/Xine07/Temperature")).toBe(false);
    expect(new Glob("a.b/(c)[1]+").test("a.b/(c)[1]+")).toBe(true);
    expect(new Glob("a.b").test("axb")).toBe(false);
    expect(new Glob("Flow%2FReturn").test("Flow%2FReturn")).toBe(true);
  });

  it("a matching path selects its whole subtree", () => {
    const g = new Glob("Plant/Line2/Machine7");
    expect(g.test("Plant/Line2/Machine7")).toBe(true);
    expect(g.test("Plant/Line2/Machine7/Speed")).toBe(true);
    expect(g.test("Plant/Line2/Machine7/Motor/Current")).toBe(true);
    expect(g.test("Plant/Line2/Machine70/Speed")).toBe(false);
    expect(new Glob("**").test("anything/at/all")).toBe(true);
    expect(new Glob("Plant/**").test("Plant/x/y")).toBe(true);
  });

  it("tells the walker when a branch can no longer match, so it is not browsed", () => {
    const g = new Glob("Plant/Line1/**/Temperature");
    let s = g.start();
    s = g.step(s, "Plant");
    expect(g.alive(s)).toBe(true);
    expect(g.alive(g.step(s, "Line2"))).toBe(false);
    const line1 = g.step(s, "Line1");
    expect(g.alive(line1)).toBe(true);
    expect(g.matches(line1)).toBe(false);
    // below ** every branch stays alive
    expect(g.alive(g.step(g.step(line1, "Anything"), "Deeper"))).toBe(true);
    expect(g.alive(g.step(g.start(), "Server"))).toBe(false);
    // a leading or trailing / is ignored
    expect(new Glob("/Plant/Line1/").test("Plant/Line1")).toBe(true);
  });

  it("rejects empty segments and ** inside a segment with a message that shows the form", () => {
    expect(() => new Glob("")).toThrow(GlobError);
    expect(() => new Glob("Plant//Line1")).toThrow(/empty segment; write e\.g\. Plant\/Line1\/\*\*\/Temperature/);
    expect(() => new Glob("Plant/Line**")).toThrow(/"\*\*" must be a whole segment/);
  });
});
