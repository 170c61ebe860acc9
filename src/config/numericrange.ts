// OPC UA NumericRange (Part 4, 7.27) as written in a mapping's indexRange: one part per array
// dimension, separated by ",", each an index "n" or a range "a:b" with a < b. Checked here so a
// typo is reported with its line, not as BadIndexRangeInvalid on a running monitored item.

/** One dimension: the first and last index, inclusive (equal for a single index). */
export interface IndexSpan {
  first: number;
  last: number;
}

const UINT32_MAX = 4_294_967_295;
const FORMS = 'write an index such as "2", a range such as "0:3" (first < last), or one part per dimension such as "1,2" or "0:1,3"';

/** The spans of each dimension; throws an Error saying what is wrong and how to write it. */
export function parseNumericRange(text: string): IndexSpan[] {
  if (text.trim() === "") throw new Error(`is empty; ${FORMS}`);
  const fail = (why: string) => new Error(`${JSON.stringify(text)} is not an index range: ${why}; ${FORMS}`);
  return text.split(",").map((part, dimension) => {
    const where = text.includes(",") ? ` (dimension ${dimension + 1})` : "";
    const m = /^(\d+)(?::(\d+))?$/.exec(part);
    if (m === null) {
      if (part === "") throw fail(`an empty part${where}`);
      if (/^\s|\s$/.test(part)) throw fail(`spaces are not allowed${where}`);
      if (/^-/.test(part)) throw fail(`indexes cannot be negative${where}`);
      throw fail(`${JSON.stringify(part)} is neither an index nor a range first:last${where}`);
    }
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (first > UINT32_MAX || last > UINT32_MAX) throw fail(`an index above ${UINT32_MAX}${where}`);
    if (m[2] !== undefined && first >= last) throw fail(`in ${JSON.stringify(part)} the first index must be less than the last${where}`);
    return { first, last };
  });
}

/** True when every dimension picks one index: the server answers an array of one element. */
export function isSingleElement(spans: readonly IndexSpan[]): boolean {
  return spans.every((s) => s.first === s.last);
}

/** "2" for [2..2], "0:3" for [0..3], joined by ",". */
export function formatNumericRange(spans: readonly IndexSpan[]): string {
  return spans.map((s) => (s.first === s.last ? String(s.first) : `${s.first}:${s.last}`)).join(",");
}

/** Dotted path of a structure field: non-empty segments without spaces. Throws an Error with the fix. */
export function parseFieldPath(text: string): string[] {
  if (text.trim() === "") throw new Error('is empty; write the field\'s name, or a dotted path such as "Diagnostics.Temperature"');
  const segments = text.split(".");
  for (const segment of segments) {
    if (segment === "") throw new Error(`${JSON.stringify(text)} has an empty part; write field names separated by single dots, e.g. "Diagnostics.Temperature"`);
    if (/\s/.test(segment)) throw new Error(`${JSON.stringify(text)} contains whitespace; write field names separated by dots, e.g. "Diagnostics.Temperature"`);
  }
  return segments;
}
