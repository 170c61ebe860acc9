// YAML syntax errors as problems. yaml's own wording is kept, except where it would quote the
// source (which may be a secret) or where the usual fix is not obvious.
import type { LineCounter, YAMLError } from "yaml";
import type { MappingProblem } from "./errors.js";

const REWORDED: Partial<Record<YAMLError["code"], (message: string) => string>> = {
  // The original quotes the escape, i.e. part of the value.
  BAD_DQ_ESCAPE: () => 'invalid \\ escape in a "double-quoted" value; use \'single quotes\', or write \\\\ for a backslash',
  BAD_SCALAR_START: (message) => `${message}; put the value in quotes`,
  DUPLICATE_KEY: (message) => `${message}; this key is set twice in the same mapping`,
};

export function syntaxProblem(error: YAMLError, file: string, lines: LineCounter): MappingProblem {
  const { line, col } = lines.linePos(error.pos[0]);
  const message = REWORDED[error.code]?.(error.message) ?? error.message;
  return { file, line, column: col, key: "", message: `not valid YAML: ${message}` };
}
