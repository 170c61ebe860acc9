// A node-opcua server for the plant-reality tests (issue 14): a custom nested structure type
// (test/fixtures/nodesets/structures.xml), array variables, scalar variables set by the test with
// explicit source timestamps, variables added while running, a settable ServiceLevel, and a
// restart on the same port.
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  DataType, DataValue, OPCUACertificateManager, OPCUAServer, StatusCodes, Variant, VariantArrayType, nodesets,
  type Namespace, type UAVariable,
} from "node-opcua";
import "../../src/opcua/logging.js";

export const STRUCT_NS = "urn:opcua-ingest:test-structures";
const STRUCTURES = fileURLToPath(new URL("../fixtures/nodesets/structures.xml", import.meta.url));

export interface PlantServerOptions {
  pkiDir: string;
  port?: number;
  /** Load the custom structure types and add Motor1.Status (default true). */
  structures?: boolean;
  namespaceUri?: string;
}

export class TestPlant {
  private readonly vars = new Map<string, UAVariable>();
  private constructor(
    private readonly server: OPCUAServer,
    private readonly ns: Namespace,
    readonly port: number,
  ) {}

  static async start(o: PlantServerOptions): Promise<TestPlant> {
    const serverCertificateManager = new OPCUACertificateManager({ rootFolder: join(o.pkiDir, "server"), automaticallyAcceptUnknownCertificate: true });
    const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(o.pkiDir, "user"), automaticallyAcceptUnknownCertificate: true });
    await serverCertificateManager.initialize();
    await userCertificateManager.initialize();
    const structures = o.structures ?? true;
    const server = new OPCUAServer({
      port: o.port ?? 0,
      hostname: "127.0.0.1",
      alternateHostname: ["127.0.0.1"],
      serverCertificateManager,
      userCertificateManager,
      nodeset_filename: structures ? [nodesets.standard, STRUCTURES] : [nodesets.standard],
      serverCapabilities: { minSupportedSampleRate: 0, operationLimits: { maxMonitoredItemsPerCall: 10_000 } } as never,
      buildInfo: { productName: "opcua-ingest test plant (structures)" },
    });
    await server.initialize();
    const addressSpace = server.engine.addressSpace!;
    const ns = addressSpace.registerNamespace(o.namespaceUri ?? "urn:opcua-ingest:test-plant-reality");
    await server.start();
    const port = Number(new URL(server.getEndpointUrl().replace("opc.tcp:", "http:")).port);
    return new TestPlant(server, ns, port);
  }

  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.port}`;
  }

  get namespaceUri(): string {
    return this.ns.namespaceUri;
  }

  nodeId(name: string): string {
    return `nsu=${this.ns.namespaceUri};s=${name}`;
  }

  private get addressSpace() {
    return this.server.engine.addressSpace!;
  }

  /** A scalar or array variable (exception-based, sampling rate 0), optionally historizing. */
  addVariable(name: string, dataType: keyof typeof DataType, value: unknown, opts: { array?: number; historize?: boolean } = {}): void {
    const array = opts.array !== undefined;
    const v = this.ns.addVariable({
      organizedBy: this.addressSpace.rootFolder.objects,
      browseName: name,
      nodeId: `s=${name}`,
      dataType,
      minimumSamplingInterval: 0,
      ...(array && { valueRank: 1, arrayDimensions: [opts.array!] }),
      ...(opts.historize && { historizing: true, accessLevel: "CurrentRead | HistoryRead", userAccessLevel: "CurrentRead | HistoryRead" }),
      value: new Variant({ dataType: DataType[dataType], arrayType: array ? VariantArrayType.Array : VariantArrayType.Scalar, value }),
    } as never);
    if (opts.historize) this.addressSpace.installHistoricalDataNode(v, { maxOnlineValues: 100_000 });
    this.vars.set(name, v);
  }

  /** A variable of the custom MotorStatus structure type; `value` uses the type's fields (lower-case first letter). */
  addMotorStatus(name: string, value: Record<string, unknown>, opts: { historize?: boolean } = {}): void {
    const dataType = this.addressSpace.findDataType("MotorStatus", this.addressSpace.getNamespaceIndex(STRUCT_NS))!;
    const v = this.ns.addVariable({
      organizedBy: this.addressSpace.rootFolder.objects,
      browseName: name,
      nodeId: `s=${name}`,
      dataType,
      minimumSamplingInterval: 0,
      ...(opts.historize && { historizing: true, accessLevel: "CurrentRead | HistoryRead", userAccessLevel: "CurrentRead | HistoryRead" }),
      value: new Variant({ dataType: DataType.ExtensionObject, value: this.addressSpace.constructExtensionObject(dataType, value) }),
    } as never);
    if (opts.historize) this.addressSpace.installHistoricalDataNode(v, { maxOnlineValues: 100_000 });
    this.vars.set(name, v);
  }

  setMotorStatus(name: string, value: Record<string, unknown>, source: Date): void {
    const dataType = this.addressSpace.findDataType("MotorStatus", this.addressSpace.getNamespaceIndex(STRUCT_NS))!;
    this.variable(name).setValueFromSource(new Variant({ dataType: DataType.ExtensionObject, value: this.addressSpace.constructExtensionObject(dataType, value) }), StatusCodes.Good, source);
  }

  set(name: string, dataType: keyof typeof DataType, value: unknown, source: Date, array = false): void {
    this.variable(name).setValueFromSource(new Variant({ dataType: DataType[dataType], arrayType: array ? VariantArrayType.Array : VariantArrayType.Scalar, value }), StatusCodes.Good, source);
  }

  /** Removes a variable (a PLC download that drops a tag). */
  remove(name: string): void {
    this.addressSpace.deleteNode(this.variable(name));
    this.vars.delete(name);
  }

  private serviceLevel = 255;
  private serviceLevelBound = false;

  /** Server/ServiceLevel (i=2267), 0..255 (node-opcua binds it to a constant 255: rebound here). */
  setServiceLevel(level: number): void {
    this.serviceLevel = level;
    if (this.serviceLevelBound) return;
    this.serviceLevelBound = true;
    const node = this.addressSpace.findNode("i=2267") as UAVariable;
    node.bindVariable({ get: () => new Variant({ dataType: DataType.Byte, value: this.serviceLevel }) }, true);
  }

  private variable(name: string): UAVariable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no variable ${name}`);
    return v;
  }

  /** A DataValue as the server holds it (for asserting what a client must see). */
  read(name: string): DataValue {
    return this.variable(name).readValue();
  }

  async stop(): Promise<void> {
    await this.server.shutdown(0);
  }
}
