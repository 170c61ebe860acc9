// Files the mapping points to. Secrets are read here so the loaded Mapping holds them, and a file
// that cannot be read is reported with the mapping's other problems. Contents never reach a message.
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Issue, Path } from "./messages.js";
import { asRecord, nonEmptyText } from "./raw.js";

export interface Secrets {
  clientSecret?: string;
  /** opcua.user.passwordFile */
  password?: string;
  /** sources[i].user.passwordFile, by i. */
  sourcePasswords?: Record<number, string>;
  opsToken?: string;
}

/** `folder` is the mapping file's folder, against which relative paths are resolved. */
export function readReferencedFiles(raw: unknown, folder: string): { secrets: Secrets; issues: Issue[] } {
  const issues: Issue[] = [];
  const secrets: Secrets = {};
  const ingest = asRecord(asRecord(raw)?.ingest);
  const ops = asRecord(asRecord(raw)?.ops);

  const readSecret = (path: Path, value: unknown): string | undefined => {
    const file = nonEmptyText(value);
    if (file === undefined) return undefined;
    const absolute = resolve(folder, file);
    try {
      const content = readFileSync(absolute, "utf8").trim();
      if (content !== "") return content;
      issues.push({ path, message: `file "${absolute}" is empty` });
    } catch (error) {
      issues.push({ path, message: `cannot read "${absolute}": ${describeFileError(error)}` });
    }
    return undefined;
  };
  const checkReadable = (path: Path, value: unknown): void => {
    const file = nonEmptyText(value);
    if (file === undefined) return;
    const absolute = resolve(folder, file);
    try {
      accessSync(absolute, constants.R_OK);
      if (statSync(absolute).isDirectory()) issues.push({ path, message: `"${absolute}" is a folder, not a file` });
    } catch (error) {
      issues.push({ path, message: `cannot read "${absolute}": ${describeFileError(error)}` });
    }
  };

  const clientSecret = readSecret(["ingest", "clientSecretFile"], ingest?.clientSecretFile);
  if (clientSecret !== undefined) secrets.clientSecret = clientSecret;
  const opsToken = readSecret(["ops", "tokenFile"], ops?.tokenFile);
  if (opsToken !== undefined) secrets.opsToken = opsToken;
  // The user of the opcua section, and of each source.
  const connections: { at: Path; index?: number }[] = [{ at: ["opcua"] }];
  const sources = asRecord(raw)?.sources;
  if (Array.isArray(sources)) sources.forEach((_s, index) => connections.push({ at: ["sources", index], index }));
  for (const { at, index } of connections) {
    let section: unknown = raw;
    for (const key of at) section = (section as Record<string | number, unknown> | undefined)?.[key];
    const user = asRecord(asRecord(section)?.user);
    if (user === undefined) continue;
    const password = readSecret([...at, "user", "passwordFile"], user.passwordFile);
    if (password !== undefined) {
      if (index === undefined) secrets.password = password;
      else (secrets.sourcePasswords ??= {})[index] = password;
    }
    checkReadable([...at, "user", "certificate"], user.certificate);
    checkReadable([...at, "user", "privateKey"], user.privateKey);
  }
  checkReadable(["ingest", "caFile"], ingest?.caFile);
  return { secrets, issues };
}

/** The reason only; Node's own message repeats the path and the system call. */
export function describeFileError(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a folder, not a file";
    default:
      return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}
