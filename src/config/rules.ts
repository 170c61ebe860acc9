// Rules that span several keys, which a per-key schema cannot say.
import { DEFAULT_LISTEN, isLoopback, parseListen } from "./listen.js";
import type { Issue } from "./messages.js";
import { asRecord, type RawRecord } from "./raw.js";
import { SECURITY_MODES, SECURITY_POLICIES } from "./schema.js";

export function crossKeyIssues(raw: unknown): Issue[] {
  const opcua = asRecord(asRecord(raw)?.opcua);
  const ingest = asRecord(asRecord(raw)?.ingest);
  return [
    ...(opcua === undefined ? [] : securityIssues(opcua)),
    ...userIssues(asRecord(opcua?.user)),
    ...(ingest === undefined ? [] : clientSecretIssues(ingest)),
    ...opsTokenIssues(asRecord(asRecord(raw)?.ops)),
  ];
}

function securityIssues(opcua: RawRecord): Issue[] {
  const mode = opcua.securityMode ?? "None";
  const policy = opcua.securityPolicy ?? "None";
  const known = (SECURITY_MODES as readonly unknown[]).includes(mode) && (SECURITY_POLICIES as readonly unknown[]).includes(policy);
  // Unknown values are reported by the schema; with one of them unknown there is no pair to judge.
  if (!known || (mode === "None") === (policy === "None")) return [];
  if (mode === "None") {
    return [
      {
        path: ["opcua", "securityPolicy"],
        message: `securityPolicy ${String(policy)} needs securityMode Sign or SignAndEncrypt, but securityMode is None; set securityMode, or set securityPolicy to None for an unsecured connection`,
      },
    ];
  }
  const policies = SECURITY_POLICIES.filter((p) => p !== "None").join(", ");
  const current = opcua.securityPolicy === undefined ? "not set (None)" : "None";
  return [
    {
      path: ["opcua", "securityMode"],
      message: `securityMode ${String(mode)} needs a securityPolicy other than None (${policies}), but securityPolicy is ${current}; set securityPolicy, or set securityMode to None for an unsecured connection`,
    },
  ];
}

const USER_FORMS = "username with password or passwordFile, or certificate with privateKey";

function userIssues(user: RawRecord | undefined): Issue[] {
  if (user === undefined) return [];
  const at = (key?: string) => (key === undefined ? ["opcua", "user"] : ["opcua", "user", key]);
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
