// A node-opcua server with a nested plant address space for the browse and validate --online tests:
//
//   Objects/Plant/LineNN/MachineMMM/{Temperature, Pressure, Speed, Running, State, Counter}
//   Objects/Plant/Utilities/TagNNNN       (one flat folder with more children than a browse page: continuation points)
//   Objects/Plant/Special/...             (the awkward cases: not readable, not convertible, structure, array, …)
//
// Every variable is also listed in `variables`, with what browse must say about it, so a test can
// compare browse output with the truth without trusting the code under test.
import { join } from "node:path";
import {
  AccessLevelFlag, DataType, OPCUACertificateManager, OPCUAServer, Range, StatusCodes, Variant, VariantArrayType, standardUnits,
  type Namespace, type UAObject,
} from "node-opcua";
import "../../src/opcua/logging.js";

export interface KnownVariable {
  /** Browse path below the Objects folder, "/"-separated. */
  path: string;
  /** As browse writes it: nsu=<uri>;s=... or ;i=... */
  nodeId: string;
  dataType: string;
  unit?: string;
  /** Access level as browse renders it, e.g. "CurrentRead|CurrentWrite". */
  access: string;
}

export interface PlantSpec {
  lines: number;
  machinesPerLine: number;
  /** Children of the flat Utilities folder. */
  utilities: number;
  maxNodesPerBrowse?: number;
  maxNodesPerRead?: number;
  /** Continuation points the server keeps per session (0 = no limit). */
  maxBrowseContinuationPoints?: number;
}

const MACHINE_VARS = ["Temperature", "Pressure", "Speed", "Running", "State", "Counter"] as const;
export const NAMESPACE_URI = "urn:opcua-ingest:test-plant";
const READ_WRITE = "CurrentRead|CurrentWrite";

export const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** The paths of the variables of a healthy machine (the ones `run` can deliver). */
export function machinePaths(line: number, machine: number): string[] {
  return MACHINE_VARS.map((v) => `Plant/Line${pad(line, 2)}/Machine${pad(machine, 3)}/${v}`);
}

export class PlantServer {
  readonly variables: KnownVariable[] = [];
  /** Paths of Plant/Special/* variables, by short name. */
  readonly special = new Map<string, KnownVariable>();

  private constructor(
    private readonly server: OPCUAServer,
    readonly port: number,
    readonly buildMs: number,
  ) {}

  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.port}`;
  }

  /** Variables that a `run` can deliver: everything under Plant/LineNN and Plant/Utilities. */
  get healthy(): KnownVariable[] {
    return this.variables.filter((v) => !v.path.startsWith("Plant/Special/"));
  }

  static async start(pkiDir: string, spec: PlantSpec): Promise<PlantServer> {
    const serverCertificateManager = new OPCUACertificateManager({ rootFolder: join(pkiDir, "server"), automaticallyAcceptUnknownCertificate: true });
    const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(pkiDir, "user"), automaticallyAcceptUnknownCertificate: true });
    await serverCertificateManager.initialize();
    await userCertificateManager.initialize();
    const server = new OPCUAServer({
      port: 0,
      hostname: "127.0.0.1",
      alternateHostname: ["127.0.0.1"],
      serverCertificateManager,
      userCertificateManager,
      maxConnectionsPerEndpoint: 50,
      serverCapabilities: {
        minSupportedSampleRate: 0,
        maxSessions: 50,
        maxBrowseContinuationPoints: spec.maxBrowseContinuationPoints ?? 0,
        operationLimits: {
          maxNodesPerBrowse: spec.maxNodesPerBrowse ?? 200,
          maxNodesPerRead: spec.maxNodesPerRead ?? 1000,
          maxMonitoredItemsPerCall: 5000,
        },
      } as never,
      buildInfo: { productName: "opcua-ingest test plant" },
    });
    await server.initialize();
    const t0 = performance.now();
    const addressSpace = server.engine.addressSpace!;
    const ns = addressSpace.registerNamespace(NAMESPACE_URI);
    const variables: KnownVariable[] = [];
    const specials = new Map<string, KnownVariable>();
    const plant = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Plant", nodeId: "s=Plant" });
    const known = (path: string, id: string, dataType: string, access = READ_WRITE, unit?: string): KnownVariable => {
      const v: KnownVariable = { path, nodeId: `nsu=${NAMESPACE_URI};${id}`, dataType, access, ...(unit ? { unit } : {}) };
      variables.push(v);
      return v;
    };

    for (let l = 1; l <= spec.lines; l++) {
      const lineName = `Line${pad(l, 2)}`;
      const line = ns.addFolder(plant, { browseName: lineName, nodeId: `s=Plant.${lineName}` });
      for (let m = 1; m <= spec.machinesPerLine; m++) {
        const machineName = `Machine${pad(m, 3)}`;
        const id = `Plant.${lineName}.${machineName}`;
        const path = `Plant/${lineName}/${machineName}`;
        const machine = ns.addObject({ organizedBy: line, browseName: machineName, nodeId: `s=${id}` });
        addMachine(ns, machine, id, l * 1000 + m);
        known(`${path}/Temperature`, `s=${id}.Temperature`, "Double", READ_WRITE, "°C");
        known(`${path}/Pressure`, `s=${id}.Pressure`, "Float", READ_WRITE, "bar");
        known(`${path}/Speed`, `s=${id}.Speed`, "Int32");
        known(`${path}/Running`, `s=${id}.Running`, "Boolean");
        known(`${path}/State`, `s=${id}.State`, "String");
        known(`${path}/Counter`, `s=${id}.Counter`, "UInt64", "CurrentRead|HistoryRead");
      }
    }

    // Numeric node ids, and a folder wider than one browse page (the client asks for 1000 references per node).
    const utilities = ns.addFolder(plant, { browseName: "Utilities", nodeId: "s=Plant.Utilities" });
    for (let k = 1; k <= spec.utilities; k++) {
      const name = `Tag${pad(k, 4)}`;
      ns.addVariable({
        organizedBy: utilities, browseName: name, nodeId: `i=${100_000 + k}`, dataType: "Double", minimumSamplingInterval: 0,
        accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite",
        value: new Variant({ dataType: DataType.Double, value: k / 4 }),
      });
      known(`Plant/Utilities/${name}`, `i=${100_000 + k}`, "Double");
    }

    const special = ns.addObject({ organizedBy: plant, browseName: "Special", nodeId: "s=Plant.Special" });
    const add = (name: string, o: Record<string, unknown>, dataTypeName: string, access = READ_WRITE) => {
      ns.addVariable({
        componentOf: special, browseName: name, nodeId: `s=Plant.Special.${name}`, minimumSamplingInterval: 0,
        accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite", ...o,
      } as never);
      specials.set(name, known(`Plant/Special/${name}`, `s=Plant.Special.${name}`, dataTypeName, access));
    };
    add("NotReadable", { dataType: "Double", accessLevel: "CurrentWrite", userAccessLevel: "CurrentWrite", value: new Variant({ dataType: DataType.Double, value: 1 }) }, "Double", "CurrentWrite");
    add("Diagnostic", { dataType: "DiagnosticInfo" }, "DiagnosticInfo");
    add("Range", { dataType: "Range", value: new Variant({ dataType: DataType.ExtensionObject, value: new Range({ low: 0, high: 100 }) }) }, "Range");
    add("Samples", { dataType: "Double", valueRank: 1, arrayDimensions: [3], value: new Variant({ dataType: DataType.Double, arrayType: VariantArrayType.Array, value: new Float64Array([1, 2, 3]) }) }, "Double[]");
    add("AnyValue", { dataType: "BaseDataType", value: new Variant({ dataType: DataType.Double, value: 7 }) }, "BaseDataType");
    add("Slow", { dataType: "Double", minimumSamplingInterval: 1000, value: new Variant({ dataType: DataType.Double, value: 3 }) }, "Double");
    add("Mode", { dataType: "ServerState", value: new Variant({ dataType: DataType.Int32, value: 0 }) }, "ServerState");
    add("Flow/Return", { dataType: "Double", value: new Variant({ dataType: DataType.Double, value: 2 }) }, "Double");
    specials.get("Flow/Return")!.path = "Plant/Special/Flow%2FReturn";
    ns.addMethod(special, { browseName: "Reset", nodeId: "s=Plant.Special.Reset", inputArguments: [], outputArguments: [] })
      .bindMethod((_args, _ctx, cb) => cb(null, { statusCode: StatusCodes.Good, outputArguments: [] }));
    // A second path to Line01 (a loop for a naive walker): browse must list each node once.
    const loop = ns.addObject({ organizedBy: special, typeDefinition: "FolderType", browseName: "Shortcuts", nodeId: "s=Plant.Special.Shortcuts" });
    if (spec.lines > 0) loop.addReference({ referenceType: "Organizes", nodeId: `ns=${ns.index};s=Plant.Line01` });
    loop.addReference({ referenceType: "Organizes", nodeId: `ns=${ns.index};s=Plant` });

    await server.start();
    const port = Number(new URL(server.getEndpointUrl().replace("opc.tcp:", "http:")).port);
    const p = new PlantServer(server, port, Math.round(performance.now() - t0));
    p.variables.push(...variables);
    for (const [k, v] of specials) p.special.set(k, v);
    return p;
  }

  async stop(): Promise<void> {
    await this.server.shutdown(0);
  }
}

function addMachine(ns: Namespace, machine: UAObject, id: string, seed: number): void {
  const rw = { accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite", minimumSamplingInterval: 0 };
  ns.addAnalogDataItem({
    componentOf: machine, browseName: "Temperature", nodeId: `s=${id}.Temperature`, dataType: "Double", ...rw,
    engineeringUnitsRange: { low: -50, high: 250 }, engineeringUnits: standardUnits.degree_celsius,
    value: new Variant({ dataType: DataType.Double, value: 20 + (seed % 50) / 10 }),
  } as never);
  ns.addAnalogDataItem({
    componentOf: machine, browseName: "Pressure", nodeId: `s=${id}.Pressure`, dataType: "Float", ...rw,
    engineeringUnitsRange: { low: 0, high: 16 }, engineeringUnits: standardUnits.bar,
    value: new Variant({ dataType: DataType.Float, value: 4.5 }),
  } as never);
  const plain = (name: string, dataType: string, value: Variant, extra: Record<string, unknown> = {}) =>
    ns.addVariable({ componentOf: machine, browseName: name, nodeId: `s=${id}.${name}`, dataType, value, ...rw, ...extra } as never);
  plain("Speed", "Int32", new Variant({ dataType: DataType.Int32, value: seed }));
  plain("Running", "Boolean", new Variant({ dataType: DataType.Boolean, value: seed % 2 === 0 }));
  plain("State", "String", new Variant({ dataType: DataType.String, value: `state ${seed}` }));
  plain("Counter", "UInt64", new Variant({ dataType: DataType.UInt64, arrayType: VariantArrayType.Scalar, value: [1, seed] }), {
    accessLevel: AccessLevelFlag.CurrentRead | AccessLevelFlag.HistoryRead,
    userAccessLevel: AccessLevelFlag.CurrentRead | AccessLevelFlag.HistoryRead,
  });
}
