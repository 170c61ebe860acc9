// Rules that span several keys, which a per-key schema cannot say.
import { DEFAULT_LISTEN, isLoopback, parseListen } from "./listen.js";
import { enumMessage, show, type Issue, type Path } from "./messages.js";
import { asRecord, type RawRecord } from "./raw.js";
import { SECURITY_MODES, SECURITY_POLICIES, SOURCE_NAME } from "./schema.js";
import { DEFAULT_SOURCE } from "./types.js";

/** The source names a mapping defines, in file order: ["default"] for an opcua section. */
export function sourceNames(raw: unknown): string[] {
  const sources = asRecord(raw)?.sources;
  if (Array.isArray(sources)) return sources.map((s: unknown) => asRecord(s)?.name).filter((n): n is string => typeof n === "string");
  return [DEFAULT_SOURCE];
}

/**
 * opcua or sources, not both; source names unique; each point's source names one of them (and
 * is required when there are several).
 */
function sourceIssues(raw: unknown): Issue[] {
  const root = asRecord(raw);
  if (root === undefined) return [];
  const issues: Issue[] = [];
  const hasOpcua = root.opcua !== undefined;
  const sources = root.sources;
  if (hasOpcua && sources !== undefined) {
    issues.push({ path: ["sources"], message: "give opcua (one server) or sources (one or more named servers), not both; move the opcua section into sources as { name: ..., endpoint: ... }" });
    return issues;
  }
  if (!hasOpcua && sources === undefined) {
    issues.push({ path: ["opcua"], message: 'missing required key "opcua" (the OPC UA server to read from); or give sources, a list of { name, endpoint }' });
    return issues;
  }
  const names = [...new Set(sourceNames(raw))];
  if (Array.isArray(sources)) {
    const first = new Map<string, number>();
    sources.forEach((s: unknown, i) => {
      const name = asRecord(s)?.name;
      if (typeof name !== "string") return;
      const before = first.get(name);
      if (before === undefined) first.set(name, i);
      else issues.push({ path: ["sources", i, "name"], message: `duplicate source name ${show(name)} (also sources[${before}]); each source needs its own name` });
    });
  }
  const points = root.points;
  if (!Array.isArray(points)) return issues;
  const valid = names.filter((n) => SOURCE_NAME.test(n));
  points.forEach((p: unknown, i) => {
    const point = asRecord(p);
    if (point === undefined) return;
    const source = point.source;
    if (source === undefined) {
      if (names.length > 1) issues.push({ path: ["points", i, "source"], message: `missing required key "source": there are ${Array.isArray(sources) ? sources.length : 1} sources, name the one this node is read from; allowed: ${names.join(", ")}` });
      return;
    }
    if (typeof source !== "string") {
      issues.push({ path: ["points", i, "source"], message: `expected the name of a source, got ${show(source)}; allowed: ${names.join(", ")}` });
      return;
    }
    if (!names.includes(source)) {
      const message = enumMessage(source, valid.length > 0 ? valid : names).replace(" is not allowed", " is not a source");
      issues.push({ path: ["points", i, "source"], message: hasOpcua ? `${message} (the opcua section is the source named default)` : message });
    }
  });
  return issues;
}

export function crossKeyIssues(raw: unknown): Issue[] {
  const opcua = asRecord(asRecord(raw)?.opcua);
  const ingest = asRecord(asRecord(raw)?.ingest);
  const sources = asRecord(raw)?.sources;
  const connections: { at: Path; section: RawRecord }[] = [];
  if (opcua !== undefined) connections.push({ at: ["opcua"], section: opcua });
  if (Array.isArray(sources)) {
    sources.forEach((s: unknown, i) => {
      const section = asRecord(s);
      if (section !== undefined) connections.push({ at: ["sources", i], section });
    });
  }
  return [
    ...sourceIssues(raw),
    ...connections.flatMap(({ at, section }) => [...securityIssues(section, at), ...userIssues(asRecord(section.user), at)]),
    ...(ingest === undefined ? [] : clientSecretIssues(ingest)),
    ...opsTokenIssues(asRecord(asRecord(raw)?.ops)),
  ];
}

function securityIssues(opcua: RawRecord, at: Path): Issue[] {
  const mode = opcua.securityMode ?? "None";
  const policy = opcua.securityPolicy ?? "None";
  const known = (SECURITY_MODES as readonly unknown[]).includes(mode) && (SECURITY_POLICIES as readonly unknown[]).includes(policy);
  // Unknown values are reported by the schema; with one of them unknown there is no pair to judge.
  if (!known || (mode === "None") === (policy === "None")) return [];
  if (mode === "None") {
    return [
      {
        path: [...at, "securityPolicy"],
        message: `securityPolicy ${String(policy)} needs securityMode Sign or SignAndEncrypt, but securityMode is None; set securityMode, or set securityPolicy to None for an unsecured connection`,
      },
    ];
  }
  const policies = SECURITY_POLICIES.filter((p) => p !== "None").join(", ");
  const current = opcua.securityPolicy === undefined ? "not set (None)" : "None";
  return [
    {
      path: [...at, "securityMode"],
      message: `securityMode ${String(mode)} needs a securityPolicy other than None (${policies}), but securityPolicy is ${current}; set securityPolicy, or set securityMode to None for an unsecured connection`,
    },
  ];
}

const USER_FORMS = "username with password or passwordFile, or certificate with privateKey";

function userIssues(user: RawRecord | undefined, section: Path): Issue[] {
  if (user === undefined) return [];
  const at = (key?: string) => (key === undefined ? [...section, "user"] : [...section, "user", key]);
  const has = (key: string) => user[key] !== undefined;
  const byName = has("username") || has("password") || has("passwordFile");
  const byCertificate = has("certificate") || has("privateKey");
  if (byName && byCertificate) {
    return [{ path: at(), message: `mixes username and certificate login; give ${USER_FORMS}` }];
  }
  if (byCertificate) {
    if (!has("certificate")) return [{ path: at("certificate"), message: 'missing required key "certificate"; privateKey needs its certificate file' }];
    if (!has("privateKey")) return [{ path: at("privateKey"), message: 'missing required key "privateKey"; the certificate needs its private key file' }];
    return [];
  }
  if (byName) {
    const issues: Issue[] = [];
    if (!has("username")) issues.push({ path: at("username"), message: 'missing required key "username"; a password needs a user name' });
    if (has("password") && has("passwordFile")) {
      issues.push({ path: at("passwordFile"), message: "give password or passwordFile, not both" });
    } else if (!has("password") && !has("passwordFile")) {
      issues.push({ path: at("password"), message: 'missing required key "password"; give password or passwordFile for the user' });
    }
    return issues;
  }
  return [{ path: at(), message: `names no login; omit user for anonymous login, or give ${USER_FORMS}` }];
}

function clientSecretIssues(ingest: RawRecord): Issue[] {
  const inline = ingest.clientSecret !== undefined;
  const file = ingest.clientSecretFile !== undefined;
  if (inline && file) return [{ path: ["ingest", "clientSecretFile"], message: "give clientSecret or clientSecretFile, not both" }];
  if (!inline && !file) {
    return [
      {
        path: ["ingest", "clientSecret"],
        message: 'missing required key "clientSecret"; give clientSecret (e.g. ${CLIENT_SECRET}) or clientSecretFile',
      },
    ];
  }
  return [];
}

function opsTokenIssues(ops: RawRecord | undefined): Issue[] {
  const inline = ops?.token !== undefined;
  const file = ops?.tokenFile !== undefined;
  if (inline && file) return [{ path: ["ops", "tokenFile"], message: "give token or tokenFile, not both" }];
  if (inline || file) return [];
  const listen = ops?.listen ?? DEFAULT_LISTEN;
  let address: ReturnType<typeof parseListen>;
  try {
    address = typeof listen === "string" ? parseListen(listen) : null;
  } catch {
    return []; // reported by the schema
  }
  if (address === null || isLoopback(address.host)) return [];
  return [
    {
      path: ["ops", "listen"],
      message: `listen ${String(listen)} is not a loopback address, so without a token the status page and metrics would be open to the network; give token (e.g. \${OPS_TOKEN}) or tokenFile, or listen on 127.0.0.1`,
    },
  ];
}
