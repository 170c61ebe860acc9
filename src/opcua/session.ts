import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  AttributeIds, MessageSecurityMode, OPCUACertificateManager, OPCUAClient, SecurityPolicy, UserTokenType,
  type ClientSession, type UserIdentityInfo,
} from "node-opcua";
import type { Logger } from "pino";
import type { OpcuaConfig } from "../config/types.js";
import "./logging.js";

/** Failures the user must fix (bad credentials, refused certificate…): code + actionable message. */
export class OpcuaError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export interface ClientOptions {
  /** Retry the first connect forever (run) or give up after a few attempts (validate, browse). */
  retryFirstConnect: boolean;
}

export function pkiFolder(stateDir: string): string {
  return join(stateDir, "pki");
}

/**
 * The OPC UA client of every command: PKI under state/pki (never the home folder), a stable
 * application URI, server certificates checked unless trustServerCertificate.
 */
export async function createClient(cfg: OpcuaConfig, stateDir: string, log: Logger, opts: ClientOptions): Promise<OPCUAClient> {
  const certificateManager = new OPCUACertificateManager({
    rootFolder: pkiFolder(stateDir),
    automaticallyAcceptUnknownCertificate: cfg.trustServerCertificate,
  });
  await certificateManager.initialize();
  if (cfg.trustServerCertificate && cfg.securityMode !== "None") {
    log.warn("opcua.trustServerCertificate is on: any server certificate is accepted, so a spoofed server would be too");
  }
  return OPCUAClient.create({
    applicationName: cfg.applicationName,
    // Stable across restarts and hosts, so the certificate in state/pki stays valid (node-opcua W06).
    applicationUri: `urn:opcua-ingest:${cfg.applicationName}`,
    securityMode: MessageSecurityMode[cfg.securityMode],
    securityPolicy: SecurityPolicy[cfg.securityPolicy],
    endpointMustExist: false,
    keepSessionAlive: true,
    requestedSessionTimeout: cfg.sessionTimeoutMs,
    clientCertificateManager: certificateManager,
    // maxRetry bounds only the first connect(); after it node-opcua reconnects forever.
    connectionStrategy: { initialDelay: 500, maxDelay: cfg.reconnectMaxDelayMs, maxRetry: opts.retryFirstConnect ? 1e9 : 2 },
  });
}

async function userIdentity(cfg: OpcuaConfig): Promise<UserIdentityInfo> {
  const user = cfg.user;
  if (user.kind === "anonymous") return { type: UserTokenType.Anonymous };
  if (user.kind === "username") return { type: UserTokenType.UserName, userName: user.username, password: user.password };
  const pem = await readFile(user.certificateFile, "utf8");
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  return { type: UserTokenType.Certificate, certificateData: der, privateKey: await readFile(user.privateKeyFile, "utf8") };
}

function certificateHint(cfg: OpcuaConfig, stateDir: string): string {
  if (cfg.securityMode === "None") return "";
  const pki = pkiFolder(stateDir);
  return `. If the server's certificate was refused, it was written to ${join(pki, "rejected")}: after checking it, move it to ${join(pki, "trusted", "certs")} and restart (or set opcua.trustServerCertificate: true, not recommended)`;
}

/** Connect and open a session with the mapping's user identity; errors say what to fix. */
export async function openSession(client: OPCUAClient, cfg: OpcuaConfig, stateDir: string): Promise<ClientSession> {
  try {
    await client.connect(cfg.endpoint);
  } catch (err) {
    throw new OpcuaError("OPCUA_CONNECT", `cannot connect to ${cfg.endpoint}: ${(err as Error).message}${certificateHint(cfg, stateDir)}`);
  }
  try {
    return await client.createSession(await userIdentity(cfg));
  } catch (err) {
    throw new OpcuaError("OPCUA_SESSION", `the server refused the session (user ${cfg.user.kind}): ${(err as Error).message}`);
  }
}

/** Read fresh: node-opcua's session.readNamespaceArray() caches the first answer for the session's life. */
export async function readNamespaces(session: ClientSession): Promise<string[]> {
  const dv = await session.read({ nodeId: "i=2255", attributeId: AttributeIds.Value });
  return dv.statusCode.isGood() && Array.isArray(dv.value.value) ? (dv.value.value as string[]) : [];
}

/** Close session and connection, each bounded: a dead server must not hold up a shutdown. */
export async function closeQuietly(client: OPCUAClient | undefined, session: ClientSession | undefined): Promise<void> {
  const bounded = (p: Promise<unknown> | undefined) => Promise.race([p?.catch(() => {}), new Promise((r) => setTimeout(r, 3_000).unref())]);
  await bounded(session?.close());
  await bounded(client?.disconnect());
}
