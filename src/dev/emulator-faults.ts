// Injected failures of the Ingest API emulator, so tests can see the connector retry, refresh and survive.

import { isObject } from "./emulator-validate.js";

export interface Fault {
  /** HTTP status to answer (400..599); ignored by kind "reset". */
  status: number;
  /** How many matching requests the fault affects. */
  count: number;
  /** Sent as Retry-After (seconds) with the faulty answers. */
  retryAfterS?: number;
  /** Only values requests for this point (kinds "status" and "reset"). */
  pointId?: string;
  /**
   * "status" (default): values POSTs are answered `status` with a JSON:API error.
   * "reset": the socket of values POSTs is destroyed after the body was read, before answering; nothing is stored.
   * "token": the token endpoint answers `status`.
   */
  kind?: "status" | "reset" | "token";
}

const FAULT_MEMBERS = new Set(["status", "count", "retryAfterS", "pointId", "kind"]);
const KINDS = new Set(["status", "reset", "token"]);

/** Checks a fault given by a test (in process or as JSON); returns the reason it is invalid, if it is. */
export function faultProblem(input: unknown): string | undefined {
  if (!isObject(input)) return "a fault must be an object";
  const unknown = Object.keys(input).filter((key) => !FAULT_MEMBERS.has(key));
  if (unknown.length > 0) return `unknown fault member(s) ${unknown.join(", ")}; allowed: ${[...FAULT_MEMBERS].join(", ")}`;
  const { status, count, retryAfterS, pointId, kind = "status" } = input;
  if (typeof kind !== "string" || !KINDS.has(kind)) return "`kind` must be \"status\", \"reset\" or \"token\"";
  if (!isInteger(count) || count < 1) return "`count` must be an integer >= 1";
  // A fault answer carries an error body, so it has to be an error status; "reset" never answers.
  if (kind !== "reset" && (!isInteger(status) || status < 400 || status > 599)) return "`status` must be an integer 400..599";
  if (retryAfterS !== undefined && (!isInteger(retryAfterS) || retryAfterS < 0)) return "`retryAfterS` must be an integer >= 0";
  if (pointId !== undefined && (typeof pointId !== "string" || pointId === "")) return "`pointId` must be a non-empty string";
  if (pointId !== undefined && kind === "token") return "`pointId` does not apply to kind \"token\"";
  return undefined;
}

function isInteger(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

/** Pending faults in the order they were added; each matching request uses up one count of the first match. */
export class FaultQueue {
  private faults: Fault[] = [];

  add(fault: Fault): void {
    const problem = faultProblem(fault);
    if (problem) throw new TypeError(`invalid fault: ${problem}`);
    this.faults.push({ ...fault });
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault that applies to a values POST for this point, if any. */
  takeForValues(pointId: string): Fault | undefined {
    if (this.faults.length === 0) return undefined; // every request asks: no closure to find nothing
    return this.take((f) => f.kind !== "token" && (f.pointId === undefined || f.pointId === pointId));
  }

  /** The fault that applies to a token request, if any. */
  takeForToken(): Fault | undefined {
    return this.take((f) => f.kind === "token");
  }

  private take(matches: (fault: Fault) => boolean): Fault | undefined {
    const index = this.faults.findIndex(matches);
    const fault = this.faults[index];
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count === 0) this.faults.splice(index, 1);
    return fault;
  }
}
