// Sizes in the mapping: a whole number of bytes, or "512MiB", "1GiB", "1.5GB". KB, MB and GB count
// in thousands (as disks are sold), KiB, MiB and GiB in 1024s (as memory and file systems count).

const UNIT_BYTES = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
} as const;

type Unit = keyof typeof UNIT_BYTES;
const UNITS = Object.keys(UNIT_BYTES) as Unit[];
const UNIT_LIST = "B, KB, MB, GB (1000-based) or KiB, MiB, GiB (1024-based)";

/** The accepted text, for the schema; parseSize accepts exactly this (and whole numbers of bytes). */
export const SIZE_PATTERN = /^\d+(\.\d+)?(B|KB|MB|GB|KiB|MiB|GiB)$/;

const EXAMPLES = "write a whole number of bytes or a number with a unit: 512MiB, 1GiB, 10GB";

/** Whole bytes: sizes are compared and added, which stays exact below 2^53. */
export function parseSize(size: string | number): number {
  if (typeof size === "number") {
    if (!Number.isInteger(size)) throw new Error(`${size} is not a whole number of bytes; ${EXAMPLES}`);
    if (size < 0) throw new Error(`${size} is negative; a size is 0 or more`);
    if (!Number.isSafeInteger(size)) throw new Error(`${size} is too large`);
    return size;
  }
  const quoted = JSON.stringify(size);
  if (/^\d+$/.test(size)) return parseSize(Number(size));
  const match = /^(\d+(?:\.\d+)?)([a-zA-Z]+)$/.exec(size);
  if (match !== null) {
    const [, number = "", unit = ""] = match;
    const factor = UNIT_BYTES[unit as Unit] as number | undefined;
    if (factor === undefined) {
      const sameLetters = UNITS.find((known) => known.toLowerCase() === unit.toLowerCase());
      if (sameLetters !== undefined) throw new Error(`${quoted}: write the unit as "${sameLetters}", e.g. ${number}${sameLetters}`);
      throw new Error(`${quoted} has an unknown unit "${unit}"; use ${UNIT_LIST}`);
    }
    const bytes = Math.round(Number(number) * factor);
    if (!Number.isSafeInteger(bytes)) throw new Error(`${quoted} is too large`);
    return bytes;
  }
  if (/\s/.test(size)) throw new Error(`${quoted} contains spaces; write it without, e.g. 1GiB`);
  if (size.startsWith("-")) throw new Error(`${quoted} is negative; a size is 0 or more`);
  throw new Error(`${quoted} is not a size; ${EXAMPLES}`);
}

/** "1MiB" for 1048576: the minimum as the reader would write it. */
export function formatSize(bytes: number): string {
  for (const unit of ["GiB", "MiB", "KiB", "GB", "MB", "KB"] as const) {
    if (bytes >= UNIT_BYTES[unit] && bytes % UNIT_BYTES[unit] === 0) return `${bytes / UNIT_BYTES[unit]}${unit}`;
  }
  return `${bytes}B`;
}

/** Why a YAML value is not an acceptable size of at least `min` bytes. */
export function sizeProblem(input: unknown, min: number): string {
  if (input === null) return `is empty; ${EXAMPLES}`;
  if (typeof input !== "string" && typeof input !== "number") return `expected a size; ${EXAMPLES}`;
  let bytes: number;
  try {
    bytes = parseSize(input);
  } catch (error) {
    return (error as Error).message;
  }
  const shown = typeof input === "number" ? `${input} bytes` : `${JSON.stringify(input)} (${bytes} bytes)`;
  return `${shown} is too small; the minimum is ${formatSize(min)} (${min} bytes)`;
}
