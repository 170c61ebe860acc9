import { DateTime } from "luxon";
import { ConnectorError } from "../core/errors.js";

/** A --from/--to the user must fix: the CLI turns it into exit 2 with this message. */
export class TimeRangeError extends ConnectorError {
  constructor(message: string) {
    super("TIME_INVALID", message);
  }
}

/** A parsed time: epoch ms, and whether it moves with the clock (relative forms re-resolve on every run). */
export interface ParsedTime {
  ms: number;
  /** True for `now` and `-7d`-style times. */
  relative: boolean;
  text: string;
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const RELATIVE = /^-(\d+)(s|m|h|d|w)$/;
// An ISO 8601 date-time that ends with its zone: Z, ±hh, ±hhmm or ±hh:mm.
const HAS_ZONE = /T.*(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

const FORMS = "ISO 8601 with a zone (2024-03-01T00:00:00Z, 2024-03-01T06:00+01:00), now, or -30m, -12h, -7d, -2w";

/**
 * `--from`/`--to` to epoch ms. ISO 8601 date-times must carry their zone: a plant's historian and
 * the machine running the backfill are often in different zones, so a bare local time is refused
 * rather than guessed. Fractions below the millisecond are truncated, as timestamps are everywhere.
 */
export function parseTime(text: string, nowMs: number, flag = "time"): ParsedTime {
  const t = text.trim();
  if (t === "") throw new TimeRangeError(`--${flag}: empty; use ${FORMS}`);
  if (t.toLowerCase() === "now") return { ms: nowMs, relative: true, text: t };
  const rel = RELATIVE.exec(t);
  if (rel) return { ms: nowMs - Number(rel[1]) * UNIT_MS[rel[2]!]!, relative: true, text: t };
  if (/^-\d/.test(t)) throw new TimeRangeError(`--${flag}: "${t}" is not a relative time; use -30m, -12h, -7d or -2w (a whole number and one of s, m, h, d, w)`);
  const parsed = DateTime.fromISO(t, { setZone: true });
  if (!parsed.isValid) throw new TimeRangeError(`--${flag}: "${t}" is not a time (${parsed.invalidExplanation ?? parsed.invalidReason}); use ${FORMS}`);
  if (!HAS_ZONE.test(t)) {
    throw new TimeRangeError(
      `--${flag}: "${t}" has no time zone; add one, e.g. "${suggestZoned(t)}" for UTC or an offset like +01:00 (a bare local time would depend on the machine's zone)`,
    );
  }
  return { ms: parsed.toMillis(), relative: false, text: t };
}

function suggestZoned(t: string): string {
  return t.includes("T") ? `${t}Z` : `${t}T00:00:00Z`;
}

export interface TimeRange {
  from: ParsedTime;
  to: ParsedTime;
}

/** Both ends, resolved against the same `now`; from must be before to. */
export function parseTimeRange(fromText: string | undefined, toText: string | undefined, nowMs: number): TimeRange {
  if (fromText === undefined) throw new TimeRangeError(`--from is required: ${FORMS}`);
  if (toText === undefined) throw new TimeRangeError(`--to is required: ${FORMS}`);
  const from = parseTime(fromText, nowMs, "from");
  const to = parseTime(toText, nowMs, "to");
  if (from.ms >= to.ms) {
    throw new TimeRangeError(
      `--from ${from.text} (${new Date(from.ms).toISOString()}) must be before --to ${to.text} (${new Date(to.ms).toISOString()}): the range is [from, to)`,
    );
  }
  return { from, to };
}
