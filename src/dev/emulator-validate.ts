// Request checks of the Ingest API emulator: RFC 3339 timestamps, the values document, media types.
// Pure functions, so the strictness rules are unit-tested without sockets.

export const JSON_API = "application/vnd.api+json";
export const MAX_VALUES_PER_REQUEST = 100;

/** A problem found in a request, before it becomes a JSON:API error object. */
export interface Problem {
  code: string;
  detail: string;
  source?: { pointer: string } | { parameter: string };
}

export interface ParsedTimestamp {
  /** Epoch milliseconds, sub-millisecond digits truncated. */
  ms: number;
  /** True when digits beyond the millisecond were non-zero (the exact instant is after `ms`). */
  subMs: boolean;
  /** True when the text is exactly what `new Date(ms).toISOString()` prints. */
  canonical: boolean;
}

// RFC 3339 §5.6 date-time. Upper-case T and Z only: RFC 3339 tolerates lower case, but the emulator is
// deliberately stricter than any server could be, so a connector that passes here passes everywhere.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;
// Outside years 0000..9999 toISOString() is no longer the canonical 24-character form.
const MIN_MS = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const MAX_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** Parses an RFC 3339 date-time with Z or a numeric offset; undefined when malformed or not a real instant. */
export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  return parseCanonical(text) ?? parseGeneral(text);
}

// Offsets of the digits in the canonical form YYYY-MM-DDTHH:mm:ss.sssZ.
const CANONICAL_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
/** The day of the last canonical timestamp: a request's values mostly share it. */
let lastDay = "";
let lastMidnight = 0;

/**
 * The form every client we know sends (what toISOString prints), without the regular expression and
 * the Date round trip: it was a third of the emulator's CPU, which shares the bench machine with the
 * connector it measures. Anything else (offsets, other fraction lengths, a bad field) is left to
 * parseGeneral, which decides; the unit test checks both agree.
 */
export function parseCanonical(text: string): ParsedTimestamp | undefined {
  if (text.length !== 24 || text.charCodeAt(23) !== 90 /* Z */ || text[4] !== "-" || text[7] !== "-" || text[10] !== "T" || text[13] !== ":" || text[16] !== ":" || text[19] !== ".") return undefined;
  for (const i of CANONICAL_DIGITS) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const d = (i: number): number => (text.charCodeAt(i) - 48) * 10 + text.charCodeAt(i + 1) - 48;
  const hour = d(11);
  const minute = d(14);
  const second = d(17);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const day = text.slice(0, 10);
  if (day !== lastDay) {
    const midnight = calendarDayMs(d(0) * 100 + d(2), d(5), d(8));
    if (midnight === undefined) return undefined;
    lastDay = day;
    lastMidnight = midnight;
  }
  const millis = (text.charCodeAt(20) - 48) * 100 + d(21);
  // Years 0000..9999 are all inside [MIN_MS, MAX_MS], and toISOString prints exactly this text back.
  return { ms: lastMidnight + ((hour * 60 + minute) * 60 + second) * 1000 + millis, subMs: false, canonical: true };
}

/** Any RFC 3339 date-time: the rule parseCanonical must agree with. */
export function parseGeneral(text: string): ParsedTimestamp | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const num = (i: number): number => Number(m[i] ?? "0");
  const [year, month, day, hour, minute, second] = [num(1), num(2), num(3), num(4), num(5), num(6)];
  const fraction = m[7] ?? "";
  const [offsetHour, offsetMinute] = [num(9), num(10)];
  // Leap second 60 is legal RFC 3339 but has no epoch millisecond of its own: rejected.
  if (hour > 23 || minute > 59 || second > 59 || offsetHour > 23 || offsetMinute > 59) return undefined;
  const midnight = calendarDayMs(year, month, day);
  if (midnight === undefined) return undefined;
  const offsetMs = (m[8] === "-" ? -1 : 1) * (offsetHour * 60 + offsetMinute) * 60_000;
  const ms = midnight + ((hour * 60 + minute) * 60 + second) * 1000 + Number(fraction.padEnd(3, "0").slice(0, 3)) - offsetMs;
  if (ms < MIN_MS || ms > MAX_MS) return undefined;
  return { ms, subMs: /[1-9]/.test(fraction.slice(3)), canonical: new Date(ms).toISOString() === text };
}

/** UTC midnight of a calendar date, or undefined for dates like 2023-02-29. */
export function calendarDayMs(year: number, month: number, day: number): number | undefined {
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  date.setUTCFullYear(year, month - 1, day);
  const real = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return real ? date.getTime() : undefined;
}

/** One value of a valid request. */
export interface ValueItem {
  ms: number;
  value: string;
  qualityOfValue?: number;
  canonical: boolean;
}

export type ValuesCheck = { ok: true; items: ValueItem[] } | { ok: false; problems: Problem[] };

const ITEM_MEMBERS = new Set(["type", "attributes"]);
const ATTRIBUTE_MEMBERS = new Set(["timestamp", "value", "qualityOfValue"]);

/** Validates a parsed POST values body; any problem rejects the whole request. */
export function checkValuesDocument(doc: unknown): ValuesCheck {
  if (!isObject(doc)) return fail(invalid("", "the body must be a JSON object with a `data` array"));
  const problems = unknownMembers(doc, new Set(["data"]), "");
  const data = doc["data"];
  if (!Array.isArray(data)) return fail(...problems, invalid("/data", "`data` must be an array of PointValue objects"));
  if (data.length === 0) problems.push(invalid("/data", `\`data\` holds no values; at least 1 is required`));
  if (data.length > MAX_VALUES_PER_REQUEST) {
    problems.push(invalid("/data", `\`data\` holds ${data.length} values; at most ${MAX_VALUES_PER_REQUEST} are allowed per request`));
  }
  const items: ValueItem[] = [];
  data.forEach((entry, index) => {
    const item = checkItem(entry, `/data/${index}`, problems);
    if (item) items.push(item);
  });
  return problems.length > 0 ? fail(...problems) : { ok: true, items };
}

function checkItem(entry: unknown, at: string, problems: Problem[]): ValueItem | undefined {
  if (!isObject(entry)) {
    problems.push(invalid(at, "each value must be an object with `type` and `attributes`"));
    return undefined;
  }
  const before = problems.length;
  problems.push(...unknownMembers(entry, ITEM_MEMBERS, at));
  if (entry["type"] !== "PointValue") problems.push(invalid(`${at}/type`, "`type` must be \"PointValue\""));
  const attributes = entry["attributes"];
  if (!isObject(attributes)) {
    problems.push(invalid(`${at}/attributes`, "`attributes` must be an object"));
    return undefined;
  }
  problems.push(...unknownMembers(attributes, ATTRIBUTE_MEMBERS, `${at}/attributes`));
  const timestamp = checkTimestamp(attributes["timestamp"], `${at}/attributes/timestamp`, problems);
  const value = attributes["value"];
  if (typeof value !== "string") problems.push(invalid(`${at}/attributes/value`, "`value` must be a string (numbers are sent as text, e.g. \"12.66\")"));
  const quality = attributes["qualityOfValue"];
  const qualityOk = quality === undefined || (Number.isSafeInteger(quality) && (quality as number) >= 0);
  if (!qualityOk) problems.push(invalid(`${at}/attributes/qualityOfValue`, "`qualityOfValue` must be an integer >= 0"));
  if (problems.length > before || timestamp === undefined || typeof value !== "string") return undefined;
  return { ms: timestamp.ms, value, canonical: timestamp.canonical, ...(quality !== undefined && { qualityOfValue: quality as number }) };
}

function checkTimestamp(raw: unknown, pointer: string, problems: Problem[]): ParsedTimestamp | undefined {
  const parsed = typeof raw === "string" ? parseTimestamp(raw) : undefined;
  if (!parsed) {
    problems.push(invalid(pointer, `\`timestamp\` must be an RFC 3339 date-time with Z or an offset, e.g. "2000-05-11T10:32:54.964Z"; got ${JSON.stringify(raw) ?? "nothing"}`));
  }
  return parsed;
}

function unknownMembers(obj: Record<string, unknown>, allowed: ReadonlySet<string>, at: string): Problem[] {
  return Object.keys(obj)
    .filter((key) => !allowed.has(key))
    .map((key) => invalid(`${at}/${escapePointer(key)}`, `unknown member \`${key}\`; allowed: ${[...allowed].join(", ")}`));
}

/** RFC 6901: `~` and `/` inside a key must be escaped in a JSON pointer. */
function escapePointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

function invalid(pointer: string, detail: string): Problem {
  return { code: "INVALID_BODY", detail, source: { pointer } };
}

function fail(...problems: Problem[]): ValuesCheck {
  return { ok: false, problems };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** JSON:API forbids media type parameters on a request's Content-Type (it answers 415), so only the bare type passes. */
export function isJsonApiContentType(header: string | undefined): boolean {
  return header === JSON_API || header?.trim().toLowerCase() === JSON_API;
}

/** Whether an Accept header allows a JSON:API answer; an absent or empty header allows anything. */
export function acceptsJsonApi(header: string | undefined): boolean {
  if (header === undefined || header === JSON_API || header.trim() === "") return true; // the first two: no splitting per request
  return header.split(",").some(acceptableRange);
}

function acceptableRange(range: string): boolean {
  const [type = "", ...params] = range.split(";").map((part) => part.trim().toLowerCase());
  const weight = params.find((p) => p.startsWith("q="));
  if (weight !== undefined && Number(weight.slice(2)) === 0) return false;
  if (type === "*/*" || type === "application/*") return true;
  // JSON:API: an instance of its media type carrying parameters (other than the q weight) is not acceptable.
  return type === JSON_API && params.every((p) => p.startsWith("q="));
}

/** The query of GET values after checking: bounds as whole epoch milliseconds. */
export interface PageQuery {
  /** Inclusive lower bound. */
  fromMs: number;
  /** Exclusive upper bound. */
  toMs: number;
  /** The cursor: the page starts after this millisecond. */
  afterMs: number;
  limit: number;
}

const DEFAULT_PAGE_LIMIT = 100;
const MAX_PAGE_LIMIT = 1000;
const FROM = "filter[timestamp][from]";
const TO = "filter[timestamp][to]";
const LIMIT = "page[limit]";
const CURSOR = "page[cursor]";
const PAGE_PARAMETERS: ReadonlySet<string> = new Set([FROM, TO, LIMIT, CURSOR]);
const POST_PARAMETERS: ReadonlySet<string> = new Set(["overwrite"]);

export function checkPageQuery(params: URLSearchParams): PageQuery | { problems: Problem[] } {
  const problems = parameterProblems(params, PAGE_PARAMETERS);
  const query: PageQuery = {
    fromMs: boundMs(params, FROM, -Infinity, problems),
    toMs: boundMs(params, TO, Infinity, problems),
    afterMs: cursorMs(params, problems),
    limit: pageLimit(params, problems),
  };
  return problems.length > 0 ? { problems } : query;
}

/** `overwrite` is "true" or "false" when given; anything else is a mistake worth a 400, not a silent false. */
export function checkOverwrite(params: URLSearchParams): boolean | { problems: Problem[] } {
  const problems = parameterProblems(params, POST_PARAMETERS);
  const overwrite = params.get("overwrite");
  if (overwrite !== null && overwrite !== "true" && overwrite !== "false") {
    problems.push(badParameter("overwrite", `must be "true" or "false"; got "${overwrite}"`));
  }
  return problems.length > 0 ? { problems } : overwrite === "true";
}

/** Unknown and repeated query parameters, which a lenient server would silently ignore. */
function parameterProblems(params: URLSearchParams, allowed: ReadonlySet<string>): Problem[] {
  const names = [...params.keys()];
  const unknown = [...new Set(names.filter((name) => !allowed.has(name)))].map((name) =>
    badParameter(name, `unknown query parameter; allowed: ${[...allowed].join(", ")}`),
  );
  const repeated = [...allowed].filter((name) => params.getAll(name).length > 1).map((name) => badParameter(name, "given more than once"));
  return [...unknown, ...repeated];
}

function boundMs(params: URLSearchParams, name: string, fallback: number, problems: Problem[]): number {
  const text = params.get(name);
  if (text === null) return fallback;
  const parsed = parseTimestamp(text);
  if (!parsed) {
    problems.push(badParameter(name, `must be an RFC 3339 date-time with Z or an offset; got "${text}"`));
    return fallback;
  }
  // Stored values sit on whole milliseconds: for an instant with sub-millisecond digits, the first one
  // at or after it is the next millisecond (for `from` inclusive and `to` exclusive alike).
  return parsed.ms + (parsed.subMs ? 1 : 0);
}

function pageLimit(params: URLSearchParams, problems: Problem[]): number {
  const text = params.get(LIMIT);
  if (text === null) return DEFAULT_PAGE_LIMIT;
  const limit = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (limit >= 1 && limit <= MAX_PAGE_LIMIT) return limit;
  problems.push(badParameter(LIMIT, `must be an integer 1..${MAX_PAGE_LIMIT}; got "${text}"`));
  return DEFAULT_PAGE_LIMIT;
}

function cursorMs(params: URLSearchParams, problems: Problem[]): number {
  const text = params.get(CURSOR);
  if (text === null) return -Infinity;
  const ms = decodeCursor(text);
  if (ms !== undefined) return ms;
  problems.push(badParameter(CURSOR, "not a cursor issued by this API; take it from `links.next`"));
  return -Infinity;
}

/**
 * The cursor is the last millisecond of the page it ends, base64url-encoded: opaque to clients, and stable
 * under concurrent inserts because the next page starts after a time, not at a position.
 */
export function encodeCursor(ms: number): string {
  return Buffer.from(String(ms)).toString("base64url");
}

export function decodeCursor(cursor: string): number | undefined {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const ms = /^-?\d{1,16}$/.test(text) ? Number(text) : NaN;
  // Node's base64url decoder skips junk characters: re-encoding proves the cursor is exactly one we issued.
  return Number.isSafeInteger(ms) && encodeCursor(ms) === cursor ? ms : undefined;
}

function badParameter(parameter: string, detail: string): Problem {
  return { code: "INVALID_QUERY", detail: `${parameter}: ${detail}`, source: { parameter } };
}
