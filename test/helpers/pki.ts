import { X509Certificate } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { OPCUACertificateManager } from "node-opcua";

/** An X.509 user certificate and its private key (PEM files), made with node-opcua's own PKI tooling. */
export interface UserCertificate {
  certificateFile: string;
  privateKeyFile: string;
  der: Buffer;
  thumbprint: string;
}

export async function makeUserCertificate(dir: string, name: string): Promise<UserCertificate> {
  const rootFolder = join(dir, `user-${name}`);
  const cm = new OPCUACertificateManager({ rootFolder, automaticallyAcceptUnknownCertificate: false });
  await cm.initialize();
  const certificateFile = join(rootFolder, "own", "certs", `${name}.pem`);
  await cm.createSelfSignedCertificate({
    applicationUri: `urn:opcua-ingest-test:user:${name}`,
    subject: `/CN=${name}`,
    dns: [],
    startDate: new Date(Date.now() - 60_000),
    validity: 30,
    outputFile: certificateFile,
  });
  await cm.dispose();
  const x509 = new X509Certificate(readFileSync(certificateFile));
  return { certificateFile, privateKeyFile: cm.privateKey, der: x509.raw, thumbprint: thumbprintOf(certificateFile) };
}

/** SHA-1 thumbprint (lower-case hex, as in node-opcua's file names) of a PEM or DER certificate file. */
export function thumbprintOf(file: string): string {
  return new X509Certificate(readFileSync(file)).fingerprint.replace(/:/g, "").toLowerCase();
}

/** The application URI in a certificate's subjectAltName. */
export function applicationUriOf(file: string): string | undefined {
  const san = new X509Certificate(readFileSync(file)).subjectAltName ?? "";
  return /URI:([^,\s]+)/.exec(san)?.[1];
}

export function derOf(file: string): Buffer {
  return new X509Certificate(readFileSync(file)).raw;
}

export function listFiles(folder: string): string[] {
  return existsSync(folder) ? readdirSync(folder).filter((f) => statSync(join(folder, f)).isFile()) : [];
}

/** Pre-trust a server certificate, as an operator would: copy its file into the client's pki/trusted/certs. */
export function trustInto(pkiDir: string, certificateFile: string): void {
  const certs = join(pkiDir, "trusted", "certs");
  mkdirSync(certs, { recursive: true });
  copyFileSync(certificateFile, join(certs, basename(certificateFile)));
}

/** node-opcua's fallback PKI in the home folder, created whenever a certificate manager is left out. */
export const HOME_PKI = join(homedir(), ".config", "node-opcua-default-nodejs");

/** Newest modification time under a folder (0 when it does not exist). */
export function newestMtime(folder: string): number {
  if (!existsSync(folder)) return 0;
  let newest = statSync(folder).mtimeMs;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const p = join(folder, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}
