import { join } from "node:path";
import {
  DataType, DataValue, OPCUACertificateManager, OPCUAServer, StatusCodes, Variant, VariantArrayType,
  type Namespace, type UAVariable,
} from "node-opcua";
import "./logging.js";

export type SimType = "Double" | "Float" | "Int32" | "Int64" | "UInt64" | "Boolean" | "String";

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
  ) {
    this.namespaceUri = ns.namespaceUri;
  }

  static async start(opts: { port?: number; pkiDir: string; namespaceUri?: string; maxMonitoredItemsPerCall?: number }): Promise<SimServer> {
    const serverCertificateManager = new OPCUACertificateManager({ rootFolder: join(opts.pkiDir, "server"), automaticallyAcceptUnknownCertificate: true });
    const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(opts.pkiDir, "user"), automaticallyAcceptUnknownCertificate: true });
    await serverCertificateManager.initialize();
    await userCertificateManager.initialize();
    const server = new OPCUAServer({
      port: opts.port ?? 0,
      hostname: "127.0.0.1",
      alternateHostname: ["127.0.0.1"],
      serverCertificateManager,
      userCertificateManager,
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
    return new SimServer(server, ns, port);
  }

  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.port}`;
  }

  /** The mapping node id, by namespace URI. */
  nodeId(name: string): string {
    return `nsu=${this.namespaceUri};s=${name}`;
  }

  addVariable(name: string, type: SimType, initial: unknown): void {
    const v = this.ns.addVariable({
      organizedBy: this.server.engine.addressSpace!.rootFolder.objects,
      browseName: name,
      nodeId: `s=${name}`,
      dataType: type,
      minimumSamplingInterval: 0,
      value: new Variant({ dataType: DataType[type], arrayType: VariantArrayType.Scalar, value: initial }),
    });
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
