import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  AttributeIds, MessageSecurityMode, OPCUACertificateManager, OPCUAClient, SecurityPolicy, UserTokenType,
  type ClientSession, type StatusCode, type UserIdentityInfo,
} from "node-opcua";
import type { Logger } from "pino";
import type { OpcuaConfig } from "../config/types.js";
import "./logging.js";
import { installDateTimeDecoder } from "./datetime.js";
import { installHistoryDecoder } from "./history-decode.js";
import { installNotificationDecoder } from "./notification-decode.js";
import { ConnectorError } from "../core/errors.js";

/** Failures the user must fix (bad credentials, refused certificate…): code + actionable message. */
export class OpcuaError extends ConnectorError {}

export interface ClientOptions {
  /** Retry the first connect forever (run) or give up after a few attempts (validate, browse). */
  retryFirstConnect: boolean;
  /** Attempts of the first connect when not retrying forever (default 2); 0 = one attempt (a ServiceLevel probe). */
  firstConnectRetries?: number;
}

export function pkiFolder(stateDir: string): string {
  return join(stateDir, "pki");
}

/** The client's own certificate, created on the first start and reused after (the server trusts this file). */
export function clientCertificateFile(stateDir: string): string {
  return join(pkiFolder(stateDir), "own", "certs", "client_certificate.pem");
}

/** The application URI in the client certificate: stable across restarts and hosts (node-opcua W06). */
export function applicationUri(applicationName: string): string {
  return `urn:opcua-ingest:${applicationName}`;
}

/** SHA-1 of the DER of the first (leaf) certificate of a chain: the thumbprint OPC UA tools show. */
function leafThumbprint(chain: Buffer): string {
  // DER SEQUENCE header: 0x30, then a short length or 0x8N followed by N length bytes.
  let length = chain.length;
  if (chain[0] === 0x30 && chain.length > 2) {
    const first = chain[1]!;
    if (first < 0x80) length = 2 + first;
    else {
      const n = first & 0x7f;
      let body = 0;
      for (let i = 0; i < n; i++) body = body * 256 + chain[2 + i]!;
      length = 2 + n + body;
    }
  }
  return createHash("sha1").update(chain.subarray(0, Math.min(length, chain.length))).digest("hex");
}

export interface RefusedCertificate {
  thumbprint: string;
  /** e.g. BadCertificateUntrusted, BadCertificateTimeInvalid */
  status: string;
}

/**
 * The client's certificate manager (state/pki). It also remembers the last server certificate it
 * refused: node-opcua's own error says only "server Certificate verification failed", this lets
 * openSession name the refused certificate's file in pki/rejected and how to trust it. A refusal is
 * also signalled at once, so a node-opcua version that would retry a refused connect cannot hang us.
 */
export class ClientCertificateManager extends OPCUACertificateManager {
  refused: RefusedCertificate | undefined;
  private readonly refusalWaiters = new Set<(r: RefusedCertificate) => void>();

  /** Resolves at the next refusal of a server certificate. */
  nextRefusal(): { promise: Promise<RefusedCertificate>; cancel(): void } {
    let waiter!: (r: RefusedCertificate) => void;
    const promise = new Promise<RefusedCertificate>((resolve) => (waiter = resolve));
    this.refusalWaiters.add(waiter);
    return { promise, cancel: () => this.refusalWaiters.delete(waiter) };
  }

  override checkCertificate(chain: Buffer | Buffer[]): Promise<StatusCode>;
  override checkCertificate(chain: Buffer | Buffer[], callback: (err: Error | null, status?: StatusCode) => void): void;
  override checkCertificate(chain: Buffer | Buffer[], callback?: (err: Error | null, status?: StatusCode) => void): Promise<StatusCode> | void {
    const checked = (super.checkCertificate(chain) as Promise<StatusCode>).then((status) => {
      if (status.isNotGood()) {
        const refused = { thumbprint: leafThumbprint(Array.isArray(chain) ? chain[0]! : chain), status: status.name };
        this.refused = refused;
        for (const w of this.refusalWaiters) w(refused);
        this.refusalWaiters.clear();
      }
      return status;
    });
    if (!callback) return checked;
    checked.then((s) => callback(null, s), (err: Error) => callback(err));
  }
}

const clientPki = new WeakMap<OPCUAClient, ClientCertificateManager>();

/**
 * The OPC UA client of every command: PKI under state/pki (never the home folder), a stable
 * application URI, server certificates checked unless trustServerCertificate.
 */
export async function createClient(cfg: OpcuaConfig, stateDir: string, log: Logger, opts: ClientOptions): Promise<OPCUAClient> {
  if (!installDateTimeDecoder()) log.debug({ event: "datetime_decoder_kept" }, "node-opcua's own DateTime decoder is in use (exact, slower)");
  if (!installHistoryDecoder()) log.debug({ event: "history_decoder_kept" }, "node-opcua's own HistoryData decoder is in use (exact, slower)");
  if (!installNotificationDecoder()) log.debug({ event: "notification_decoder_kept" }, "node-opcua's own DataChangeNotification decoder is in use (exact, slower)");
  const certificateManager = new ClientCertificateManager({
    rootFolder: pkiFolder(stateDir),
    automaticallyAcceptUnknownCertificate: cfg.trustServerCertificate,
  });
  await certificateManager.initialize();
  if (cfg.trustServerCertificate && cfg.securityMode !== "None") {
    log.warn("opcua.trustServerCertificate is on: any server certificate is accepted, so a spoofed server would be too");
  }
  const client = OPCUAClient.create({
    applicationName: cfg.applicationName,
    // Stable across restarts and hosts, so the certificate in state/pki stays valid (node-opcua W06).
    applicationUri: applicationUri(cfg.applicationName),
    securityMode: MessageSecurityMode[cfg.securityMode],
    securityPolicy: SecurityPolicy[cfg.securityPolicy],
    endpointMustExist: false,
    keepSessionAlive: true,
    requestedSessionTimeout: cfg.sessionTimeoutMs,
    clientCertificateManager: certificateManager,
    // maxRetry bounds only the first connect(); after it node-opcua reconnects forever.
    connectionStrategy: { initialDelay: 500, maxDelay: cfg.reconnectMaxDelayMs, maxRetry: opts.retryFirstConnect ? 1e9 : (opts.firstConnectRetries ?? 2) },
  });
  clientPki.set(client, certificateManager);
  return client;
}

async function userIdentity(cfg: OpcuaConfig): Promise<UserIdentityInfo> {
  const user = cfg.user;
  if (user.kind === "anonymous") return { type: UserTokenType.Anonymous };
  if (user.kind === "username") return { type: UserTokenType.UserName, userName: user.username, password: user.password };
  const file = await readFile(user.certificateFile);
  const text = file.toString("latin1");
  // PEM (the first certificate of the file) or DER as is.
  const pem = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(text);
  const der = pem ? Buffer.from(pem[1]!.replace(/\s+/g, ""), "base64") : file;
  return { type: UserTokenType.Certificate, certificateData: der, privateKey: await readFile(user.privateKeyFile, "utf8") };
}

/** node-opcua-pki names a refused certificate `<common name>[<thumbprint>].pem` in pki/rejected. */
function rejectedFile(stateDir: string, thumbprint: string): string | undefined {
  const folder = join(pkiFolder(stateDir), "rejected");
  try {
    const name = readdirSync(folder).find((f) => f.toLowerCase().includes(`[${thumbprint}]`));
    return name && join(folder, name);
  } catch {
    return undefined;
  }
}

function refusedServerCertificate(cfg: OpcuaConfig, stateDir: string, refused: RefusedCertificate): OpcuaError {
  const pki = pkiFolder(stateDir);
  const file = rejectedFile(stateDir, refused.thumbprint);
  const trusted = join(pki, "trusted", "certs");
  const head = `the certificate of the OPC UA server ${cfg.endpoint} was refused (${refused.status}, SHA-1 thumbprint ${refused.thumbprint})`;
  if (refused.status !== "BadCertificateUntrusted") {
    return new OpcuaError(
      "OPCUA_CERT_INVALID",
      `${head}: the certificate itself is not acceptable (expired, revoked, wrong use, or its issuer or revocation list is missing ` +
        `from ${join(pki, "issuers")}); have it fixed on the server`,
    );
  }
  return new OpcuaError(
    "OPCUA_CERT_UNTRUSTED",
    `${head}: it is not in ${trusted}. ` +
      `It was written to ${file ?? join(pki, "rejected")}; after checking the thumbprint with the server's administrator, ` +
      `move that file to ${trusted}/ and start again (or set opcua.trustServerCertificate: true, which would accept a spoofed server too)`,
  );
}

function refusedClientCertificate(cfg: OpcuaConfig, stateDir: string, detail: string): OpcuaError {
  return new OpcuaError(
    "OPCUA_CLIENT_CERT_REJECTED",
    `the OPC UA server ${cfg.endpoint} refused this client's certificate (${detail}). ` +
      `Trust ${clientCertificateFile(stateDir)} (application URI ${applicationUri(cfg.applicationName)}) in the server's ` +
      `certificate store (often: move it from the server's rejected list to its trusted list), then start again`,
  );
}

const statusName = (message: string): string | undefined => /\b(Bad[A-Za-z]+)\b/.exec(message)?.[1];

/** What the user should check when the server refuses the session, by the status it gave. */
function sessionHint(cfg: OpcuaConfig, message: string): string {
  const status = statusName(message) ?? "";
  const user = cfg.user;
  if (/BadUserAccessDenied|BadIdentityToken/.test(status)) {
    if (user.kind === "username") return `: check opcua.user (username "${user.username}" and its password) and that the server allows this user`;
    if (user.kind === "certificate") return `: the server must trust the user certificate ${user.certificateFile} (in its user PKI) and map it to a user`;
    return ": the server does not allow anonymous sessions; set opcua.user";
  }
  if (/BadSecurity|BadCertificate/.test(status)) return ": check opcua.securityMode / securityPolicy against the server's endpoints";
  return "";
}

/** Connect and open a session with the mapping's user identity; errors say what to fix. */
export async function openSession(client: OPCUAClient, cfg: OpcuaConfig, stateDir: string): Promise<ClientSession> {
  const pki = clientPki.get(client);
  if (pki) pki.refused = undefined;
  const refusal = pki?.nextRefusal();
  try {
    // node-opcua 2.182 fails a connect whose server certificate was refused at once; should a version
    // retry it instead, the refusal still ends the wait (after a moment for node-opcua's own error).
    const refusedSoon = refusal?.promise.then((r) => new Promise<RefusedCertificate>((resolve) => setTimeout(() => resolve(r), 2_000).unref()));
    const connecting = client.connect(cfg.endpoint).then(() => undefined);
    connecting.catch(() => {}); // when the refusal wins the race, the connect's own failure comes later
    const outcome = await Promise.race([connecting, refusedSoon ?? new Promise<never>(() => {})]);
    if (outcome) {
      await client.disconnect().catch(() => {});
      throw refusedServerCertificate(cfg, stateDir, outcome);
    }
  } catch (err) {
    if (err instanceof OpcuaError) throw err;
    const message = (err as Error).message;
    if (pki?.refused) throw refusedServerCertificate(cfg, stateDir, pki.refused);
    // The server answered the OpenSecureChannel with a fault: it does not trust our certificate.
    if (/rejected by server/.test(message) && /BadSecurityChecksFailed|BadCertificate/.test(message)) {
      throw refusedClientCertificate(cfg, stateDir, statusName(message) ?? message);
    }
    throw new OpcuaError("OPCUA_CONNECT", `cannot connect to ${cfg.endpoint}: ${message}${certificateHint(cfg, stateDir)}`);
  } finally {
    refusal?.cancel();
  }
  try {
    return await client.createSession(await userIdentity(cfg));
  } catch (err) {
    const message = (err as Error).message;
    throw new OpcuaError("OPCUA_SESSION", `the server refused the session (user ${cfg.user.kind}): ${message}${sessionHint(cfg, message)}`);
  }
}

function certificateHint(cfg: OpcuaConfig, stateDir: string): string {
  if (cfg.securityMode === "None") return "";
  const pki = pkiFolder(stateDir);
  return `. If the server's certificate was refused, it was written to ${join(pki, "rejected")}: after checking it, move it to ${join(pki, "trusted", "certs")} and restart (or set opcua.trustServerCertificate: true, not recommended)`;
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
