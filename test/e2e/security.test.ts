import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMapping } from "../../src/config/index.js";
import type { Mapping } from "../../src/config/types.js";
import { OpcuaError, OpcuaSource } from "../../src/opcua/source.js";
import { SimServer } from "../../src/dev/simserver.js";
import type { RawDataValue } from "../../src/core/types.js";
import { startCli } from "../helpers/cli.js";
import { silent, tempDir } from "../helpers/env.js";
import {
  HOME_PKI, applicationUriOf, derOf, listFiles, makeUserCertificate, newestMtime, thumbprintOf, trustInto, type UserCertificate,
} from "../helpers/pki.js";
import { waitFor } from "../helpers/wait.js";

// Secure OPC UA end to end: a node-opcua server offering signed and encrypted endpoints, username and
// X.509 users, and the connector's OPC UA source against it. Every PKI lives in a temp folder.

const dir = tempDir("security");
const startedAt = Date.now();
const homePkiExisted = existsSync(HOME_PKI);
const USER = { username: "operator", password: "correct horse battery staple" };
let server: SimServer;
let trustedUser: UserCertificate;
let strangerUser: UserCertificate;
let seq = 0;

beforeAll(async () => {
  server = await SimServer.start({
    pkiDir: join(dir.path, "server-pki"),
    users: [USER],
    autoAcceptUserCertificates: false,
  });
  server.addVariable("Sec.Value", "Double", 0);
  trustedUser = await makeUserCertificate(dir.path, "trusted-operator");
  strangerUser = await makeUserCertificate(dir.path, "stranger");
  await server.trustUserCertificate(trustedUser.der);
});
afterAll(async () => {
  await server?.stop();
  dir.remove();
});

interface OpcuaYaml {
  securityMode?: string;
  securityPolicy?: string;
  user?: string;
  trustServerCertificate?: boolean;
  applicationName?: string;
}

function mappingText(target: SimServer, state: string, o: OpcuaYaml): string {
  return `opcua:
  endpoint: ${target.endpoint}
  securityMode: ${o.securityMode ?? "SignAndEncrypt"}
  securityPolicy: ${o.securityPolicy ?? "Basic256Sha256"}
  trustServerCertificate: ${o.trustServerCertificate ?? false}
  publishingInterval: 100ms
${o.applicationName ? `  applicationName: ${o.applicationName}\n` : ""}${o.user ? `  user: ${o.user}\n` : ""}ingest:
  baseUrl: http://127.0.0.1:9/ingest
  tokenUrl: http://127.0.0.1:9/oauth/token
  partitionId: p
  clientId: c
  clientSecret: s
state: ${state}
ops: { listen: off } # tests run in parallel: none may take the default port
defaults:
  samplingInterval: 0
points:
  - nodeId: "${target.nodeId("Sec.Value")}"
    pointId: sec-value
`;
}

function mapping(target: SimServer, state: string, o: OpcuaYaml): Mapping {
  return parseMapping(mappingText(target, state, o), join(dir.path, `security-${++seq}.yaml`), {});
}

/** A fresh state folder whose PKI already trusts the server (copied in, as an operator would). */
function trustingState(target: SimServer = server): string {
  const state = join(dir.path, `state-${++seq}`);
  trustInto(join(state, "pki"), target.certificateFile);
  return state;
}

/** Start the source, produce a value on the server, wait for it; returns the server's view of the session. */
async function receiveOneValue(m: Mapping, target: SimServer = server) {
  const values: RawDataValue[] = [];
  const source = new OpcuaSource(m.opcua, m.points.map((config) => ({ config })), m.state, silent, { value: (_i, raw) => values.push(raw), state: () => {} });
  try {
    await source.start();
    const value = 1000 + ++seq + 0.25;
    target.set("Sec.Value", "Double", value, new Date(Date.UTC(2026, 10, 25, 12, 0, 0, seq)));
    await waitFor(() => values.some((v) => v.value === value), 10_000, `value ${value} through ${m.opcua.securityMode}/${m.opcua.securityPolicy}`);
    return target.sessions();
  } finally {
    await source.stop();
  }
}

/** Start the source expecting a refusal: the OpcuaError it throws, within a bound (no endless retry). */
async function refusal(m: Mapping, boundMs = 15_000): Promise<OpcuaError> {
  const source = new OpcuaSource(m.opcua, m.points.map((config) => ({ config })), m.state, silent, { value: () => {}, state: () => {} });
  const started = Date.now();
  try {
    const outcome = await Promise.race([
      source.start().then(() => new Error("the session was opened")),
      new Promise<Error>((resolve) => setTimeout(() => resolve(new Error(`still trying after ${boundMs} ms`)), boundMs)),
    ]).catch((err: unknown) => err as Error);
    expect(outcome).toBeInstanceOf(OpcuaError);
    expect(Date.now() - started).toBeLessThan(boundMs);
    return outcome as OpcuaError;
  } finally {
    await source.stop();
  }
}

describe("secure OPC UA (signed, encrypted, authenticated)", () => {
  it.each([
    ["Sign", "Basic256Sha256"],
    ["SignAndEncrypt", "Basic256Sha256"],
    ["SignAndEncrypt", "Aes256_Sha256_RsaPss"],
  ])("delivers a value over %s + %s, and the server's channel has exactly that security", async (securityMode, securityPolicy) => {
    const sessions = await receiveOneValue(mapping(server, trustingState(), { securityMode, securityPolicy }));
    expect(sessions).toContainEqual({ securityMode, securityPolicy, userToken: "AnonymousIdentityToken" });
  });

  it("logs in with username and password", async () => {
    const user = `{ username: ${USER.username}, password: "${USER.password}" }`;
    const sessions = await receiveOneValue(mapping(server, trustingState(), { user }));
    expect(sessions).toContainEqual({ securityMode: "SignAndEncrypt", securityPolicy: "Basic256Sha256", userToken: "UserNameIdentityToken" });
  });

  it("refuses a wrong password with OPCUA_SESSION, an actionable message and no password in it", async () => {
    const err = await refusal(mapping(server, trustingState(), { user: `{ username: ${USER.username}, password: "wrong password" }` }));
    expect(err.code).toBe("OI_OPCUA_SESSION");
    expect(err.message).toMatch(/BadUserAccessDenied|BadIdentityToken/);
    expect(err.message).toContain("opcua.user");
    expect(err.message).toContain(`"${USER.username}"`);
    expect(err.message).not.toContain("wrong password");
  });

  it("logs in with an X.509 user certificate the server trusts (PEM or DER file), and refuses one it does not", async () => {
    const trusted = `{ certificate: ${trustedUser.certificateFile}, privateKey: ${trustedUser.privateKeyFile} }`;
    const sessions = await receiveOneValue(mapping(server, trustingState(), { user: trusted }));
    expect(sessions).toContainEqual({ securityMode: "SignAndEncrypt", securityPolicy: "Basic256Sha256", userToken: "X509IdentityToken" });

    // The same certificate as a DER file.
    const derFile = join(dir.path, "trusted-operator.der");
    writeFileSync(derFile, trustedUser.der);
    const asDer = `{ certificate: ${derFile}, privateKey: ${trustedUser.privateKeyFile} }`;
    expect(await receiveOneValue(mapping(server, trustingState(), { user: asDer }))).toContainEqual(expect.objectContaining({ userToken: "X509IdentityToken" }));

    const stranger = `{ certificate: ${strangerUser.certificateFile}, privateKey: ${strangerUser.privateKeyFile} }`;
    const err = await refusal(mapping(server, trustingState(), { user: stranger }));
    expect(err.code).toBe("OI_OPCUA_SESSION");
    expect(err.message).toContain(strangerUser.certificateFile);
  });

  it("refuses an untrusted server certificate at once, says where it was written, and connects once it is moved to trusted", async () => {
    const state = join(dir.path, `state-${++seq}`);
    const pki = join(state, "pki");
    const m = mapping(server, state, { applicationName: "line-7" });
    const err = await refusal(m, 10_000);
    expect(err.code).toBe("OI_OPCUA_CERT_UNTRUSTED");
    const serverThumbprint = thumbprintOf(server.certificateFile);
    const rejected = listFiles(join(pki, "rejected"));
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toContain(`[${serverThumbprint}]`);
    expect(err.message).toContain(join(pki, "rejected", rejected[0]!));
    expect(err.message).toContain(`move that file to ${join(pki, "trusted", "certs")}`);
    expect(err.message).toContain(serverThumbprint);
    expect(err.message).toContain("trustServerCertificate");
    expect(thumbprintOf(join(pki, "rejected", rejected[0]!))).toBe(serverThumbprint);

    // The client certificate was created on this first start, under state/pki, with the stable URI.
    const clientCert = join(pki, "own", "certs", "client_certificate.pem");
    expect(existsSync(clientCert)).toBe(true);
    expect(applicationUriOf(clientCert)).toBe("urn:opcua-ingest:line-7");
    const clientThumbprint = thumbprintOf(clientCert);

    // "Trust after copy": the operator moves the refused certificate to trusted/certs, then starts again.
    mkdirSync(join(pki, "trusted", "certs"), { recursive: true });
    renameSync(join(pki, "rejected", rejected[0]!), join(pki, "trusted", "certs", rejected[0]!));
    await receiveOneValue(m);
    expect(listFiles(join(pki, "rejected"))).toEqual([]);
    // Same client certificate on the second start: created once, then reused.
    expect(thumbprintOf(clientCert)).toBe(clientThumbprint);
    expect(readdirSync(join(pki, "own", "certs")).filter((f) => f.endsWith(".pem"))).toEqual(["client_certificate.pem"]);
  });

  it("run (the CLI, which retries an unreachable server forever) exits 1 at once on an untrusted server certificate", async () => {
    const state = join(dir.path, `state-${++seq}`);
    const file = join(dir.path, `cli-${seq}.yaml`);
    writeFileSync(file, mappingText(server, state, {}));
    const run = startCli(["run", "--config", file]);
    const timer = setTimeout(() => run.child.kill("SIGKILL"), 20_000);
    try {
      expect(await run.exit).toBe(1);
    } finally {
      clearTimeout(timer);
    }
    const stderr = run.stderr.join("");
    expect(stderr).toContain("OPCUA_CERT_UNTRUSTED");
    expect(stderr).toContain(join(state, "pki", "rejected"));
  });

  it("names the client certificate to trust when the server refuses it, and connects once the server trusts it", async () => {
    const strict = await SimServer.start({ pkiDir: join(dir.path, "strict-pki"), autoAcceptClientCertificates: false });
    try {
      strict.addVariable("Sec.Value", "Double", 0);
      const state = trustingState(strict);
      const m = mapping(strict, state, {});
      const err = await refusal(m, 10_000);
      expect(err.code).toBe("OI_OPCUA_CLIENT_CERT_REJECTED");
      const clientCert = join(state, "pki", "own", "certs", "client_certificate.pem");
      expect(err.message).toContain(clientCert);
      expect(err.message).toContain("urn:opcua-ingest:opcua-ingest");
      await strict.trustClientCertificate(derOf(clientCert));
      const sessions = await receiveOneValue(m, strict);
      expect(sessions).toContainEqual({ securityMode: "SignAndEncrypt", securityPolicy: "Basic256Sha256", userToken: "AnonymousIdentityToken" });
    } finally {
      await strict.stop();
    }
  });

  it("wrote nothing under the home folder (every PKI is under a state or temp folder)", () => {
    if (!homePkiExisted) expect(existsSync(HOME_PKI), `${HOME_PKI} was created`).toBe(false);
    else expect(newestMtime(HOME_PKI), `something wrote into ${HOME_PKI} while this suite ran`).toBeLessThan(startedAt);
  });
});
