import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import {
  AccessLevelFlag, DataType, DataValue, MessageSecurityMode, OPCUACertificateManager, OPCUAServer, SecurityPolicy, StatusCodes, Variant,
  VariantArrayType, type Namespace, type UAVariable,
} from "../opcua/server-kit.js";
import type { SecurityMode, SecurityPolicy as PolicyName } from "../config/types.js";

export type SimType = "Double" | "Float" | "Int32" | "Int64" | "UInt64" | "Boolean" | "String";

export interface SimServerOptions {
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Listen address; default 127.0.0.1 (loopback only). "0.0.0.0" advertises the machine's hostname. */
  host?: string;
  /** Server PKI (pkiDir/server) and user-certificate PKI (pkiDir/user). */
  pkiDir: string;
  namespaceUri?: string;
  maxMonitoredItemsPerCall?: number;
  /** Endpoints offered; default node-opcua's: None, Sign, SignAndEncrypt. */
  securityModes?: SecurityMode[];
  /** Default node-opcua's (None, Basic128Rsa15, Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss). */
  securityPolicies?: PolicyName[];
  /** Default true. */
  allowAnonymous?: boolean;
  /** Username/password logins the server accepts; none by default. */
  users?: { username: string; password: string }[];
  /**
   * Accept any client application certificate (default true). When false, only certificates in
   * pkiDir/server/trusted/certs (or given to trustClientCertificate) are accepted; the others are
   * written to pkiDir/server/rejected.
   */
  autoAcceptClientCertificates?: boolean;
  /** Accept any X.509 user certificate (default true). When false, only trustUserCertificate's. */
  autoAcceptUserCertificates?: boolean;
}

/**
 * A node-opcua server with variables we set ourselves, with explicit source timestamps: the
 * demo plant and the e2e tests both drive it. Exception-based monitoring (sampling rate 0),
 * so every change reaches the client, several in one millisecond included.
 */
export class SimServer {
  readonly namespaceUri: string;
  private readonly vars = new Map<string, UAVariable>();

  private constructor(
    private readonly server: OPCUAServer,
    private readonly ns: Namespace,
    readonly port: number,
    private readonly advertisedHost: string,
    private readonly serverCertificates: OPCUACertificateManager,
    private readonly userCertificates: OPCUACertificateManager,
  ) {
    this.namespaceUri = ns.namespaceUri;
  }

  static async start(opts: SimServerOptions): Promise<SimServer> {
    const serverCertificateManager = new OPCUACertificateManager({
      rootFolder: join(opts.pkiDir, "server"),
      automaticallyAcceptUnknownCertificate: opts.autoAcceptClientCertificates ?? true,
    });
    const userCertificateManager = new OPCUACertificateManager({
      rootFolder: join(opts.pkiDir, "user"),
      automaticallyAcceptUnknownCertificate: opts.autoAcceptUserCertificates ?? true,
    });
    await serverCertificateManager.initialize();
    await userCertificateManager.initialize();
    const host = opts.host ?? "127.0.0.1";
    const advertisedHost = host === "0.0.0.0" || host === "::" ? osHostname() : host;
    const users = opts.users ?? [];
    const server = new OPCUAServer({
      port: opts.port ?? 0,
      host,
      hostname: advertisedHost,
      alternateHostname: [advertisedHost],
      serverCertificateManager,
      userCertificateManager,
      ...(opts.securityModes && { securityModes: opts.securityModes.map((m) => MessageSecurityMode[m]) }),
      ...(opts.securityPolicies && { securityPolicies: opts.securityPolicies.map((p) => SecurityPolicy[p]) }),
      allowAnonymous: opts.allowAnonymous ?? true,
      userManager: {
        isValidUser: (username: string, password: string) => users.some((u) => u.username === username && u.password === password),
      },
      serverCapabilities: {
        minSupportedSampleRate: 0,
        operationLimits: { maxMonitoredItemsPerCall: opts.maxMonitoredItemsPerCall ?? 10_000 },
      },
      buildInfo: { productName: "opcua-ingest simulated plant" },
    });
    await server.initialize();
    const ns = server.engine.addressSpace!.registerNamespace(opts.namespaceUri ?? "urn:opcua-ingest:sim");
    await server.start();
    const port = Number(new URL(server.getEndpointUrl().replace("opc.tcp:", "http:")).port);
    return new SimServer(server, ns, port, advertisedHost, serverCertificateManager, userCertificateManager);
  }

  /** The server's own certificate (PEM file), as a client's PKI would receive it. */
  get certificateFile(): string {
    return join(this.serverCertificates.rootDir, "own", "certs", "certificate.pem");
  }

  /** Trust a client application certificate (DER) when autoAcceptClientCertificates is off. */
  async trustClientCertificate(der: Buffer): Promise<void> {
    await this.serverCertificates.trustCertificate(der);
  }

  /** Trust an X.509 user certificate (DER) when autoAcceptUserCertificates is off. */
  async trustUserCertificate(der: Buffer): Promise<void> {
    await this.userCertificates.trustCertificate(der);
  }

  get endpoint(): string {
    return `opc.tcp://${this.advertisedHost}:${this.port}`;
  }

  /** The open sessions: their channel's security and the kind of user token, e.g. "UserNameIdentityToken". */
  sessions(): { securityMode: string; securityPolicy: string; userToken: string }[] {
    return this.server.engine.getSessions().map((s) => ({
      securityMode: s.channel ? MessageSecurityMode[s.channel.securityMode] ?? "" : "",
      securityPolicy: s.channel ? String(s.channel.securityPolicy).replace(/^.*#/, "") : "",
      userToken: s.userIdentityToken?.constructor.name ?? "",
    }));
  }

  /** The mapping node id, by namespace URI. */
  nodeId(name: string): string {
    return `nsu=${this.namespaceUri};s=${name}`;
  }

  /** `historize`: the server also keeps the values in its in-memory historian (HistoryRead). */
  addVariable(name: string, type: SimType, initial: unknown, historize = false): void {
    const addressSpace = this.server.engine.addressSpace!;
    const v = this.ns.addVariable({
      organizedBy: addressSpace.rootFolder.objects,
      browseName: name,
      nodeId: `s=${name}`,
      dataType: type,
      minimumSamplingInterval: 0,
      ...(historize && {
        historizing: true,
        accessLevel: AccessLevelFlag.CurrentRead | AccessLevelFlag.HistoryRead,
        userAccessLevel: AccessLevelFlag.CurrentRead | AccessLevelFlag.HistoryRead,
      }),
      value: new Variant({ dataType: DataType[type], arrayType: VariantArrayType.Scalar, value: initial }),
    });
    if (historize) addressSpace.installHistoricalDataNode(v, { maxOnlineValues: 1_000_000 });
    this.vars.set(name, v);
  }

  /** Set a value with its source timestamp; picoseconds (0..999,999,999,999 in node-opcua's sense) optional. */
  set(name: string, type: SimType, value: unknown, source: Date, picoseconds = 0): void {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no variable ${name}`);
    if (picoseconds === 0) {
      v.setValueFromSource(new Variant({ dataType: DataType[type], arrayType: VariantArrayType.Scalar, value }), StatusCodes.Good, source);
      return;
    }
    // setValueFromSource zeroes picoseconds: build the DataValue ourselves.
    const dv = new DataValue({
      value: new Variant({ dataType: DataType[type], arrayType: VariantArrayType.Scalar, value }),
      statusCode: StatusCodes.Good,
      sourceTimestamp: source,
      sourcePicoseconds: picoseconds,
      serverTimestamp: new Date(),
    });
    (v as unknown as { _internal_set_dataValue(dv: DataValue): void })._internal_set_dataValue(dv);
  }

  async stop(): Promise<void> {
    await this.server.shutdown(0);
  }
}
