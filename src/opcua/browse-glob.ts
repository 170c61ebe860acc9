import { ConnectorError } from "../core/errors.js";
// Glob filter on browse paths ("/"-separated, below the browse root), pure:
//   Plant/Line1/**/Temperature    `**` is any number of segments (zero included)
//   Plant/*/Machine1              `*` alone is exactly one segment
//   Plant/Line*/Temp*             `*` inside a segment is any characters but "/"
// A path that matches selects that node and its whole subtree. The walker carries a state per
// node, so a branch that can no longer match is not browsed at all.

/** Indexes into the pattern still reachable after the segments so far; "all" = a prefix matched. */
export type GlobState = readonly number[] | "all";

export class GlobError extends ConnectorError {
  constructor(message: string) {
    super("FILTER_INVALID", message);
  }
}

type Segment = { kind: "any" } | { kind: "one"; re: RegExp };

export class Glob {
  private readonly segments: Segment[];

  constructor(readonly pattern: string) {
    const parts = pattern.replace(/^\/+|\/+$/g, "").split("/");
    if (pattern.trim() === "" || parts.some((p) => p === "")) {
      throw new GlobError(`--filter "${pattern}": empty segment; write e.g. Plant/Line1/**/Temperature (segments separated by one "/")`);
    }
    this.segments = parts.map((p) => {
      if (p === "**") return { kind: "any" };
      if (p.includes("**")) throw new GlobError(`--filter "${pattern}": "**" must be a whole segment (a/**/b), not part of "${p}"`);
      const re = new RegExp(`^${p.split("*").map(escapeRegExp).join("[^/]*")}$`, "s");
      return { kind: "one", re };
    });
  }

  /** The state before the first segment. */
  start(): GlobState {
    return this.closure([0]);
  }

  /** The state after one more path segment; an empty array means nothing below can match. */
  step(state: GlobState, segment: string): GlobState {
    if (state === "all") return "all";
    const next = new Set<number>();
    for (const i of state) {
      const s = this.segments[i];
      if (s === undefined) continue; // pattern complete: only "all" continues below a match
      if (s.kind === "any") next.add(i); // ** swallows this segment and stays
      else if (s.re.test(segment)) next.add(i + 1);
    }
    const closed = this.closure([...next]);
    return this.matches(closed) ? "all" : closed;
  }

  /** True when the path so far matches the whole pattern (then its whole subtree is selected). */
  matches(state: GlobState): boolean {
    return state === "all" || state.includes(this.segments.length);
  }

  /** False when no path below can match: the branch is not browsed. */
  alive(state: GlobState): boolean {
    return state === "all" || state.length > 0;
  }

  /** Convenience for tests and one-off checks: does the whole path match? */
  test(path: string): boolean {
    let state = this.start();
    for (const seg of path.split("/")) {
      state = this.step(state, seg);
      if (!this.alive(state)) return false;
    }
    return this.matches(state);
  }

  /** `**` may match zero segments: add the states after it. */
  private closure(states: number[]): number[] {
    const out = new Set<number>();
    const stack = [...states];
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (out.has(i)) continue;
      out.add(i);
      if (this.segments[i]?.kind === "any") stack.push(i + 1);
    }
    return [...out].sort((a, b) => a - b);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}
