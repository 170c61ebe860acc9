// Turns a key path into the line and column a reader can jump to.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from "yaml";
import type { Path } from "./messages.js";

export interface Position {
  line: number;
  column: number;
}

/** `points[2].samplingInterval` */
export function formatPath(path: Path): string {
  let text = "";
  for (const key of path) text += typeof key === "number" ? `[${key}]` : text === "" ? key : `.${key}`;
  return text;
}

export class Locator {
  constructor(
    private readonly document: Document,
    private readonly lines: LineCounter,
  ) {}

  /**
   * Where the key (or list item) at `path` is written. A key that is not in the file (a missing
   * required key) is placed at its nearest ancestor that is, i.e. the mapping it belongs in.
   */
  at(path: Path): Position {
    let node: unknown = this.document.contents;
    let offset = startOf(node) ?? 0;
    for (const key of path) {
      if (isAlias(node)) node = node.resolve(this.document);
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key));
        if (pair === undefined) break;
        offset = startOf(pair.key) ?? offset;
        next = pair.value;
      } else if (isSeq(node) && typeof key === "number" && key < node.items.length) {
        next = node.items[key];
        offset = startOf(next) ?? offset;
      } else {
        break;
      }
      node = next;
    }
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }
}

function startOf(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}
