import { ConnectorError } from "../core/errors.js";
// One error for everything wrong with a mapping, so a plant engineer fixes the file in one pass.

export interface MappingProblem {
  /** The mapping file as it was named to the loader. */
  file: string;
  /** 1-based; 0 when the problem has no place in the file (the file cannot be read). */
  line: number;
  column: number;
  /** Dotted path with [i] for list items, e.g. points[2].samplingInterval; "" for the whole file. */
  key: string;
  message: string;
}

export class MappingError extends ConnectorError {
  readonly problems: MappingProblem[];

  constructor(problems: MappingProblem[]) {
    super("MAPPING_INVALID", problems.map(formatProblem).join("\n"));
    this.problems = problems;
  }
}

/** `FILE:LINE:COLUMN: KEY: MESSAGE`, the form editors and terminals turn into links. */
export function formatProblem(problem: MappingProblem): string {
  const place = problem.line > 0 ? `${problem.file}:${problem.line}:${problem.column}` : problem.file;
  const text = problem.key === "" ? `${place}: ${problem.message}` : `${place}: ${problem.key}: ${problem.message}`;
  // One problem per line, even when a key or value quoted from the file spans lines.
  return text.replace(/\r?\n/g, "\\n");
}
