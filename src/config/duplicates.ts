// Two entries for one pointId would interleave values; two for one node (the same source, node id,
// field and index range) would send the same values twice.
import { show, type Issue, type Path } from "./messages.js";
import { asRecord } from "./raw.js";
import { sourceNames } from "./rules.js";

export function duplicateIssues(raw: unknown, lineOf: (path: Path) => number): Issue[] {
  const points = asRecord(raw)?.points;
  if (!Array.isArray(points)) return [];
  const names = sourceNames(raw);
  const only = names.length === 1 ? names[0] : undefined;
  const issues: Issue[] = [];
  const firstPoint = new Map<string, number>();
  const firstNode = new Map<string, number>();
  points.forEach((point: unknown, index) => {
    const p = asRecord(point);
    const pointId = p?.pointId;
    if (typeof pointId === "string" && pointId !== "") {
      const first = firstPoint.get(pointId);
      if (first === undefined) firstPoint.set(pointId, index);
      else issues.push({ path: ["points", index, "pointId"], message: `duplicate pointId ${show(pointId)} (first used at line ${lineOf(["points", first, "pointId"])})` });
    }
    const nodeId = typeof p?.nodeId === "string" ? p.nodeId.trim() : "";
    if (nodeId === "") return;
    const source = typeof p?.source === "string" ? p.source : only;
    const field = typeof p?.field === "string" ? p.field : undefined;
    const range = typeof p?.indexRange === "string" || typeof p?.indexRange === "number" ? String(p.indexRange) : undefined;
    const key = JSON.stringify([source ?? null, nodeId, field ?? null, range ?? null]);
    const first = firstNode.get(key);
    if (first === undefined) {
      firstNode.set(key, index);
      return;
    }
    const what = [
      names.length > 1 && source !== undefined ? `source ${show(source)}` : "",
      field === undefined ? "" : `field ${show(field)}`,
      range === undefined ? "" : `indexRange ${show(range)}`,
    ].filter((x) => x !== "");
    const detail = what.length === 0 ? "" : ` with the same ${what.join(", ")}`;
    issues.push({ path: ["points", index, "nodeId"], message: `duplicate nodeId ${show(nodeId)}${detail} (first used at line ${lineOf(["points", first, "nodeId"])})` });
  });
  return issues;
}
