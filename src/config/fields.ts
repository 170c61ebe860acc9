// Schema building blocks that word their own problems: what is wrong and what is allowed, in the
// reader's terms. Each returns undefined for a missing key so the parse-wide wording applies.
import { z } from "zod";
import { DURATION_EXAMPLES, DURATION_PATTERN, durationProblem, parseDuration } from "./duration.js";
import { LISTEN_PATTERN, parseListen } from "./listen.js";
import { describeValue, enumMessage, show } from "./messages.js";
import { parseNodeId } from "./nodeid.js";
import { parseFieldPath, parseNumericRange } from "./numericrange.js";
import { parseSize, SIZE_PATTERN, sizeProblem } from "./size.js";
import { didYouMean } from "./suggest.js";

type Describe = (input: unknown) => string;

function wording(describe: Describe) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? undefined : describe(issue.input));
}

/** Milliseconds, or undefined when the text is no duration (e.g. longer than a timer can wait). */
function durationMs(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/** Duration text that parseDuration accepts (the pattern alone admits e.g. 597h, too long for a timer). */
function durationText(pattern: RegExp, error: ReturnType<typeof wording>, also: readonly string[] = []) {
  return z
    .string({ error })
    .regex(pattern, { error, abort: true })
    .refine((text) => also.includes(text) || durationMs(text) !== undefined, { error });
}

/** A duration where 0 is allowed: "250ms", "5s", "1m", "1h" or 0. */
export function duration(description: string) {
  const error = wording(durationProblem);
  return z.union([durationText(DURATION_PATTERN, error), z.literal(0)], { error }).describe(description);
}

/** A duration that must be more than 0. */
export function positiveDuration(description: string) {
  const error = wording(durationProblem);
  return z
    .string({ error })
    .regex(DURATION_PATTERN, { error, abort: true })
    .refine((text) => (durationMs(text) ?? 0) > 0, { error })
    .describe(description);
}

const DURATION_OR_OFF_PATTERN = new RegExp(`^(off|${DURATION_PATTERN.source.slice(1, -1)})$`);

/** A duration, or 0 or off for "never". */
export function durationOrOff(description: string) {
  const error = wording(durationOrOffProblem);
  return z.union([durationText(DURATION_OR_OFF_PATTERN, error, ["off"]), z.literal(0)], { error }).describe(description);
}

function durationOrOffProblem(input: unknown): string {
  if (typeof input === "boolean" || (typeof input === "string" && input.toLowerCase() === "off")) {
    return `${show(input)} is not allowed; write off (or 0) to turn it off, or a duration such as 1m`;
  }
  const problem = durationProblem(input);
  return problem.endsWith(DURATION_EXAMPLES) ? `${problem}, or off` : problem;
}

/** A size in bytes: a whole number, or "512MiB", "1GiB", "10GB". */
export function size(min: number, description: string) {
  const error = wording((input) => sizeProblem(input, min));
  const atLeastMin = (text: string) => {
    try {
      return parseSize(text) >= min;
    } catch {
      return false;
    }
  };
  return z
    .union(
      [
        z.number({ error }).int({ error }).min(min, { error }),
        z.string({ error }).regex(SIZE_PATTERN, { error, abort: true }).refine(atLeastMin, { error }),
      ],
      { error },
    )
    .describe(description);
}

/** "host:port", "[ipv6]:port" or off. */
export function listenAddress(description: string) {
  const error = wording(listenProblem);
  return z
    .string({ error })
    .regex(LISTEN_PATTERN, { error, abort: true })
    .refine((text) => listenError(text) === undefined, { error })
    .describe(description);
}

function listenError(text: string): string | undefined {
  try {
    parseListen(text);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function listenProblem(input: unknown): string {
  if (input === null) return "is empty; write host:port, e.g. 127.0.0.1:9464, or off";
  if (typeof input !== "string") return `expected host:port, e.g. 127.0.0.1:9464, or off; got ${describeValue(input, false)}`;
  return listenError(input) ?? `${show(input)} is not allowed; write host:port, e.g. 127.0.0.1:9464, or off`;
}

/** auto, true or false. */
export function autoOrBoolean(description: string) {
  const error = wording((input) => enumMessage(input, ["auto", true, false]));
  return z.union([z.literal("auto"), z.boolean()], { error }).describe(description);
}

/** Any finite number (not YAML's .inf or .nan). */
export function finiteNumber(description: string) {
  const error = wording((input) => {
    if (input === null) return "is empty; expected a number";
    if (typeof input === "number") return `${input} is not allowed; expected a finite number`;
    return `expected a number, got ${describeValue(input, false)}`;
  });
  return z.number({ error }).describe(description);
}

interface Range {
  min: number;
  max?: number;
  integer?: boolean;
  /** Why the limit exists, when it is not obvious (e.g. an API limit). */
  why?: string;
}

export function numberIn(range: Range, description: string) {
  const error = wording((input) => rangeProblem(input, range));
  let schema = z.number({ error });
  if (range.integer === true) schema = schema.int({ error });
  schema = schema.min(range.min, { error });
  if (range.max !== undefined) schema = schema.max(range.max, { error });
  return schema.describe(description);
}

function rangeProblem(input: unknown, range: Range): string {
  const kind = range.integer === true ? "a whole number" : "a number";
  const span = range.max === undefined ? `${kind} of ${range.min} or more` : `${kind} from ${range.min} to ${range.max}`;
  const allowed = `allowed: ${span}${range.why === undefined ? "" : ` (${range.why})`}`;
  if (input === null) return `is empty; ${allowed}`;
  if (typeof input !== "number") return `expected a number, got ${describeValue(input, false)}; ${allowed}`;
  if (range.integer === true && !Number.isInteger(input)) return `${input} is not a whole number; ${allowed}`;
  return `${input} is out of range; ${allowed}`;
}

/** Text that is not empty. */
export function text(description: string) {
  return z.string().min(1).describe(description);
}

/** An absolute URL with one of the given schemes ("https" also admits "http"). */
export function url(scheme: "https" | "opc.tcp", example: string, description: string) {
  const prefixes = scheme === "https" ? ["https://", "http://"] : ["opc.tcp://"];
  const pattern = scheme === "https" ? /^https?:\/\// : /^opc\.tcp:\/\//;
  const error = wording((input) => urlProblem(input, prefixes, example));
  return z
    .string({ error })
    .regex(pattern, { error, abort: true })
    .refine(hasHost, { error })
    .describe(description);
}

function hasHost(value: string): boolean {
  try {
    return new URL(value).host !== "";
  } catch {
    return false;
  }
}

function urlProblem(input: unknown, prefixes: string[], example: string): string {
  if (typeof input !== "string") return `expected a URL such as ${example}, got ${describeValue(input, false)}`;
  if (!prefixes.some((prefix) => input.startsWith(prefix))) {
    return `${show(input)} must start with ${prefixes.join(" or ")}, e.g. ${example}`;
  }
  return `${show(input)} is not a valid URL (no host name?), e.g. ${example}`;
}

/** An OPC UA node id in string form, checked by parseNodeId. */
export function nodeId(description: string) {
  return z
    .string()
    .superRefine((value, context) => {
      try {
        parseNodeId(value);
      } catch (error) {
        context.addIssue({ code: "custom", message: (error as Error).message });
      }
    })
    .describe(description);
}

/** A pointId: it becomes a URL path segment, so no whitespace and no "/". */
export function pointId(description: string) {
  const error = wording((input) =>
    input === "" ? "must not be empty" : `${show(input)} contains whitespace or "/"; a pointId has neither`,
  );
  return z.string().min(1, { error, abort: true }).regex(/^[^\s/]+$/, { error, abort: true }).refine(notDotSegment, { error: dotSegmentProblem("pointId") }).describe(description);
}

/** A partition id: a URL path segment of its own (encoded). */
export function partitionId(description: string) {
  return text(description).refine(notDotSegment, { error: dotSegmentProblem("partitionId") });
}

/** "." and ".." are path steps in a URL, not names: the request would go to another path. */
const notDotSegment = (value: string): boolean => value !== "." && value !== "..";
const dotSegmentProblem = (key: string) => (issue: { input?: unknown }) =>
  `${show(issue.input)} is a URL path step ("." or ".."), not a ${key}: the values would go to another path; any other name with dots is fine`;

/**
 * The API's base URL: the values' paths are appended to it, so it is scheme, host, port and path
 * only. A query or fragment would be dropped from every request, and the API authenticates with the
 * token, not a user in the URL (neither is echoed: either may hold a secret).
 */
export function baseUrl(example: string, description: string) {
  return url("https", example, description).superRefine((value, context) => {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      return; // reported by url()
    }
    if (u.username || u.password) context.addIssue({ code: "custom", message: `must not hold a user name or password (the API is called with the OAuth token); e.g. ${example}` });
    if (u.search || u.hash) context.addIssue({ code: "custom", message: `must not have a query ("?…") or fragment ("#…"): the values' paths are appended to it; e.g. ${example}` });
  });
}

const DEADBAND_FORMS = "none, { absolute: N } with N >= 0, or { percent: N } with N from 0 to 100";

export function deadband(description: string) {
  const error = wording(deadbandProblem);
  return z
    .union(
      [
        z.literal("none"),
        z.strictObject({ absolute: numberIn({ min: 0 }, "Report a change only when it exceeds this many units") }),
        z.strictObject({ percent: numberIn({ min: 0, max: 100 }, "Report a change only when it exceeds this percentage of the EURange") }),
      ],
      { error },
    )
    .describe(description);
}

function deadbandProblem(input: unknown): string {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    return `${input === null ? "is empty" : `${describeValue(input, false)} is not allowed`}; write ${DEADBAND_FORMS}`;
  }
  const entries = Object.entries(input);
  const [first] = entries;
  if (entries.length !== 1 || first === undefined) return `write exactly one of absolute or percent, i.e. ${DEADBAND_FORMS}`;
  const [key, value] = first;
  if (key !== "absolute" && key !== "percent") {
    const hint = didYouMean(key, ["absolute", "percent"]);
    return hint === "" ? `unknown key "${key}"; write ${DEADBAND_FORMS}` : `unknown key "${key}"${hint} Write ${DEADBAND_FORMS}`;
  }
  const range = key === "absolute" ? "a number of 0 or more" : "a number from 0 to 100";
  return `${key} must be ${range}, got ${describeValue(value, false)}`;
}

/** A dotted path into a structure value, checked by parseFieldPath. */
export function fieldPath(description: string) {
  return z
    .string()
    .superRefine((value, context) => {
      try {
        parseFieldPath(value);
      } catch (error) {
        context.addIssue({ code: "custom", message: (error as Error).message });
      }
    })
    .describe(description);
}

/** An OPC UA NumericRange as text ("2", "0:3", "1,2"); a bare whole number is taken as its text. */
export function indexRange(description: string) {
  const check = (value: string, context: z.core.$RefinementCtx) => {
    try {
      parseNumericRange(value);
    } catch (error) {
      context.addIssue({ code: "custom", message: (error as Error).message });
    }
  };
  const error = wording((input) => `expected an index range such as "2" or "0:3", got ${describeValue(input, false)}`);
  return z
    .union([z.string({ error }).superRefine(check), z.number({ error }).int({ error }).min(0, { error })], { error })
    .describe(description);
}
