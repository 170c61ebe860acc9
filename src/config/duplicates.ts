// Two entries for one pointId would interleave values; two for one nodeId would send them twice.
import { show, type Issue, type Path } from "./messages.js";
import { asRecord } from "./raw.js";

export function duplicateIssues(raw: unknown, lineOf: (path: Path) => number): Issue[] {
  const points = asRecord(raw)?.points;
  if (!Array.isArray(points)) return [];
  const issues: Issue[] = [];
  for (const key of ["pointId", "nodeId"] as const) {
    const firstIndex = new Map<string, number>();
    points.forEach((point: unknown, index) => {
      const value = asRecord(point)?.[key];
      if (typeof value !== "string") return;
      const id = key === "nodeId" ? value.trim() : value;
      if (id === "") return;
      const first = firstIndex.get(id);
      if (first === undefined) {
        firstIndex.set(id, index);
      } else {
        const firstLine = lineOf(["points", first, key]);
        issues.push({ path: ["points", index, key], message: `duplicate ${key} ${show(id)} (first used at line ${firstLine})` });
      }
    });
  }
  return issues;
}
