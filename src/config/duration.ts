// Durations in the mapping: "250ms", "5s", "1m", "1h", "1.5s" or 0. Units are mandatory because a bare
// number is ambiguous (OPC UA speaks milliseconds, people speak seconds).

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** The accepted text, for the schema; parseDuration accepts exactly this. */
export const DURATION_PATTERN = /^(0|\d+(\.\d+)?(ms|s|m|h))$/;

/** Every duration ends up in a timer; Node.js timers cannot wait longer than this. */
const MAX_MS = 2 ** 31 - 1;

/** Ends the message of every value that is no duration at all. */
export const DURATION_EXAMPLES = "write a number with a unit: 250ms, 5s, 1m, 1h";

/** Milliseconds, rounded to a whole number. Throws an Error that says how to write it instead. */
export function parseDuration(text: string): number {
  const quoted = JSON.stringify(text);
  if (text === "0") return 0;
  if (/^\d+(\.\d+)?$/.test(text)) throw new Error(noUnit(text));
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (match !== null) {
    const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
    if (ms > MAX_MS) throw new Error(`${quoted} is too long; the longest duration is 596h`);
    return ms;
  }
  if (/\s/.test(text)) throw new Error(`${quoted} contains spaces; write it without, e.g. 5s`);
  if (text.startsWith("-")) throw new Error(`${quoted} is negative; a duration is 0 or more`);
  const unit = /^\d+(?:\.\d+)?([a-zA-Z]+)$/.exec(text)?.[1];
  if (unit !== undefined) throw new Error(`${quoted} has an unknown unit "${unit}"; use ms, s, m or h, e.g. 250ms, 5s, 1m, 1h`);
  throw new Error(`${quoted} is not a duration; ${DURATION_EXAMPLES}`);
}

/** Why a YAML value the schema rejected is not an acceptable duration. */
export function durationProblem(input: unknown): string {
  if (input === 0) return "0 is not allowed here; it must be more than 0, e.g. 5s";
  if (typeof input === "number") return noUnit(String(input));
  if (input === null) return `is empty; ${DURATION_EXAMPLES}`;
  if (typeof input !== "string") return `expected a duration; ${DURATION_EXAMPLES}`;
  try {
    parseDuration(input);
  } catch (error) {
    return (error as Error).message;
  }
  // Valid text rejected by the schema can only be a zero where more than 0 is required.
  return `${JSON.stringify(input)} is 0; it must be more than 0, e.g. 5s`;
}

function noUnit(number: string): string {
  // Both readings, since either may be meant: 250 from an OPC UA tool is 250ms, 10 typed by a person often 10s.
  return `${number} has no unit: write ${number}ms or ${number}s`;
}
