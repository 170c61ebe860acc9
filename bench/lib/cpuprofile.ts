// Reads a V8 .cpuprofile (node --cpu-prof) and answers where the time went: the functions with the most
// self time, the most inclusive time, and self time by area (a package under node_modules, a file of
// ours, node internals, GC). Optionally only the samples of a time window, given relative to the
// profile's end (the process exit), so start-up does not blur a steady-state profile.
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotEntry {
  name: string;
  /** Share of the busy (non-idle) time in the window, 0..1. */
  share: number;
  ms: number;
}

export interface ProfileSummary {
  /** Busy time in the window, ms (samples other than "(idle)"). */
  busyMs: number;
  idleMs: number;
  self: HotEntry[];
  inclusive: HotEntry[];
  areas: HotEntry[];
}

function where(url: string, root: string): string {
  if (!url) return "";
  let path = url.replace(/^file:\/\//, "");
  if (path.startsWith(root)) path = path.slice(root.length + 1);
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path);
  return pkg ? `${pkg[1]}/${pkg[2]}` : path;
}

function area(url: string, functionName: string, root: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native/builtin)";
  if (url.startsWith("node:")) return "node: internals";
  const path = url.replace(/^file:\/\//, "");
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (pkg) return pkg[1]!.startsWith("node-opcua") ? "node-opcua-*" : pkg[1]!;
  if (path.startsWith(root)) return path.slice(root.length + 1).replace(/\.js$/, "");
  return path;
}

/**
 * @param windowFromEndUs [from, to] in µs before the profile's end; all samples when omitted.
 * @param root the project folder, stripped from file names.
 */
export function summarizeProfile(file: string, root: string, top = 20, windowFromEndUs?: [number, number]): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const label = (n: ProfileNode) => {
    const f = n.callFrame;
    const name = f.functionName || "(anonymous)";
    const w = where(f.url, root);
    return w ? `${name} ${w}:${f.lineNumber + 1}` : name;
  };
  const lo = windowFromEndUs ? p.endTime - windowFromEndUs[0] : -Infinity;
  const hi = windowFromEndUs ? p.endTime - windowFromEndUs[1] : Infinity;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t < lo || t > hi) continue;
    // The time until the next sample is attributed to this one.
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(p.samples[i]!);
    if (!node) continue;
    if (node.callFrame.functionName === "(idle)") {
      idle += dt;
      continue;
    }
    busy += dt;
    const key = label(node);
    self.set(key, (self.get(key) ?? 0) + dt);
    const a = area(node.callFrame.url, node.callFrame.functionName, root);
    areas.set(a, (areas.get(a) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      if (n.callFrame.functionName === "(root)") break;
      const k = label(n);
      if (seen.has(k)) continue; // recursion counts once
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  }
  const rank = (m: Map<string, number>, n: number): HotEntry[] =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, ms]) => ({ name, ms, share: busy ? ms / busy : 0 }));
  return { busyMs: busy, idleMs: idle, self: rank(self, top), inclusive: rank(inclusive, top), areas: rank(areas, top) };
}

export function formatProfile(s: ProfileSummary): string {
  const pct = (e: HotEntry) => `${(e.share * 100).toFixed(1).padStart(5)}%  ${e.ms.toFixed(0).padStart(7)} ms  ${e.name}`;
  return [
    `busy ${(s.busyMs / 1000).toFixed(1)} s, idle ${(s.idleMs / 1000).toFixed(1)} s in the window`,
    "self time by function:",
    ...s.self.map((e) => `  ${pct(e)}`),
    "self time by area:",
    ...s.areas.map((e) => `  ${pct(e)}`),
    "inclusive time (function and what it calls):",
    ...s.inclusive.map((e) => `  ${pct(e)}`),
  ].join("\n");
}
