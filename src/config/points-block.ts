// The items of the top-level `points:` list, found by their lines, so a large mapping can be parsed
// a slice of items at a time. yaml's Document of a 100,000-point mapping (syntax tokens, nodes and
// their ranges, all alive at once) takes some 440 MB and 6 s for 30 MB of points; slices of a few
// hundred items each are small, short-lived garbage. Only the usual layout is recognised: a
// `points:` key at the start of a line, then its items at one indentation, each starting with "-".
// For anything else this answers undefined and the loader parses the whole document as before.

/** Items per slice: a slice's Document stays a young, short-lived object (~2 MB). */
const ITEMS_PER_SLICE = 500;

export interface PointsSlice {
  /** Whole items, with the comments and blank lines between them. */
  text: string;
  /** 1-based line of the slice's first line in the file. */
  line: number;
  items: number;
}

export interface PointsBlock {
  /** The file with `points: []` on the key's line and the items' lines left empty: every other line where it was. */
  rest: string;
  slices: PointsSlice[];
}

/** `points:` alone on its line, or with a comment after a space ("points:#x" is a plain scalar in YAML). */
const KEY = /^points[ \t]*:(?:[ \t]+(?:#.*)?)?\r?$/;
const BLANK_OR_COMMENT = /^[ \t]*(?:#.*)?\r?$/;
/** An item: "-" then a space, a tab or the end of the line, after `indent` spaces. */
const ITEM = /^( *)-(?:[ \t]|\r?$)/;

export function findPointsBlock(text: string, itemsPerSlice = ITEMS_PER_SLICE): PointsBlock | undefined {
  // A directive (%YAML 1.1, %TAG) changes how every scalar reads: a slice parsed alone would read otherwise.
  if (/^%/m.test(text)) return undefined;
  const lineStarts: number[] = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const lineAt = (n: number) => text.slice(lineStarts[n], n + 1 < lineStarts.length ? lineStarts[n + 1]! - 1 : text.length);
  const lines = lineStarts.length;

  let keyLine = -1;
  for (let n = 0; n < lines; n++) {
    if (text.charCodeAt(lineStarts[n]!) !== 0x70 /* p */ || !KEY.test(lineAt(n))) continue;
    if (keyLine !== -1) return undefined; // twice: the whole parse reports it
    keyLine = n;
  }
  if (keyLine === -1) return undefined;

  // The items: from the first item line to the first line, after it, that is not blank, a comment, an item or inside one.
  let indent = -1;
  const itemLines: number[] = [];
  let end = lines; // first line after the block
  for (let n = keyLine + 1; n < lines; n++) {
    const line = lineAt(n);
    if (BLANK_OR_COMMENT.test(line)) continue;
    if (line.charCodeAt(0) === 0x09 /* tab */) return undefined;
    const item = ITEM.exec(line);
    if (indent === -1) {
      if (!item) return undefined; // `points: []` written inline, a mapping, or nothing: not this layout
      indent = item[1]!.length;
    }
    if (item && item[1]!.length === indent) {
      itemLines.push(n);
      continue;
    }
    const lead = line.length - line.trimStart().length;
    if (lead > indent) continue; // inside the current item
    if (lead !== 0) return undefined; // between the items' indentation and the next key: let the whole parse judge it
    end = n;
    break;
  }
  if (itemLines.length === 0) return undefined;
  // Blank and "#" lines after the last item stay in its slice: one of them may be the content of its
  // block scalar (a line "#Temp" under `nodeId: >-`), which the whole parse reads as text.

  const offsetOf = (n: number) => (n < lines ? lineStarts[n]! : text.length);
  const slices: PointsSlice[] = [];
  for (let i = 0; i < itemLines.length; i += itemsPerSlice) {
    const first = itemLines[i]!;
    const next = i + itemsPerSlice < itemLines.length ? itemLines[i + itemsPerSlice]! : end;
    slices.push({ text: text.slice(offsetOf(first), offsetOf(next)), line: first + 1, items: Math.min(itemsPerSlice, itemLines.length - i) });
  }
  const blockStart = itemLines[0]!;
  const rest =
    text.slice(0, offsetOf(keyLine)) +
    "points: []\n" +
    text.slice(offsetOf(keyLine + 1), offsetOf(blockStart)) +
    "\n".repeat(end - blockStart) +
    text.slice(offsetOf(end));
  return { rest, slices };
}
