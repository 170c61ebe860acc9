// ${VAR} and ${VAR:-default} in string values, applied to the parsed document rather than the text,
// so a substituted value is never YAML syntax: a secret containing ": #" stays one string.
// As in the shell, the default also replaces a variable that is set but empty.
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Scalar } from "yaml";
import { isSecret, type Issue, type Path } from "./messages.js";

export type Env = Record<string, string | undefined>;

// "$${" is a literal "${"; a "${" without "}" is matched last so it can be reported.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const BODY = /^([A-Za-z_][A-Za-z0-9_]*)(:-([\s\S]*))?$/;
const SINGLE = /^\$\{[^}]*\}$/;
const HOW = "write ${NAME} or ${NAME:-default}, or $${ for a literal ${";

/**
 * Substitutes in place and returns the problems. `takesTextOnly(path)` tells whether a value that is
 * exactly one reference stays text; elsewhere it is read as YAML, so `${N:-100}` can be a number.
 */
export function interpolate(document: Document, env: Env, takesTextOnly: (path: Path) => boolean): Issue[] {
  const issues: Issue[] = [];
  const visit = (node: unknown, path: Path): void => {
    // An alias is substituted where its anchor is defined.
    if (isAlias(node)) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key)) visit(pair.value, [...path, String(pair.key.value)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => visit(item, [...path, index]));
    } else if (isScalar(node) && typeof node.value === "string") {
      substitute(node as Scalar<unknown>, path, env, takesTextOnly, issues);
    }
  };
  visit(document.contents, []);
  return issues;
}

function substitute(node: Scalar<unknown>, path: Path, env: Env, takesTextOnly: (path: Path) => boolean, issues: Issue[]) {
  const text = node.value as string;
  if (!text.includes("${")) return;
  const before = issues.length;
  const result = text.replace(REFERENCE, (match, body: string | undefined) => {
    if (match === "$${") return "${";
    if (body === undefined) {
      issues.push({ path, message: `has a "\${" without a closing "}"; ${HOW}` });
      return match;
    }
    const parts = BODY.exec(body);
    if (parts === null) {
      const shown = isSecret(path) ? "a variable reference" : `"${match}"`;
      issues.push({ path, message: `${shown} is not a valid variable reference (names use letters, digits and _); ${HOW}` });
      return match;
    }
    const [, name = "", hasDefault, fallback = ""] = parts;
    const value = env[name];
    if (hasDefault !== undefined) return value === undefined || value === "" ? fallback : value;
    if (value === undefined) {
      issues.push({ path, message: `environment variable ${name} is not set; set it, or write \${${name}:-default}` });
      return match;
    }
    return value;
  });
  if (issues.length > before) return;
  node.value = SINGLE.test(text) && !takesTextOnly(path) ? asYamlScalar(result) : result;
}

/** "100" → 100, "true" → true, anything that is not a plain YAML scalar stays text. */
function asYamlScalar(text: string): unknown {
  const document = parseDocument(text);
  return document.errors.length === 0 && isScalar(document.contents) && document.contents.type === "PLAIN"
    ? document.contents.value
    : text;
}
