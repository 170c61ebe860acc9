// A node-opcua server with historizing variables for the backfill tests and the backfill bench.
//
//   Objects/Historian/H000 … H{n-1}    historizing, history filled with past values (setValueFromSource)
//   Objects/Historian/NoHistory000 …   plain variables: no HistoryRead access level, no history
//   Objects/Historian/Unsupported000 … HistoryRead access level, but no historian installed: the
//                                      server answers BadHistoryOperationUnsupported
//
// Built with node-opcua directly (not src/opcua/simserver.ts). The history each variable holds is
// also kept here as plain data (`history`), so a test compares what the API stored with the truth
// without trusting the code under test.
import { join } from "node:path";
import {
  AccessLevelFlag, DataType, OPCUACertificateManager, OPCUAServer, StatusCodes, Variant,
  type Namespace, type StatusCode, type UAVariable,
} from "node-opcua";
import "../../src/opcua/logging.js";

export const HISTORIAN_NS = "urn:opcua-ingest:test-historian";

export interface HistorianSpec {
  pkiDir: string;
  /** Default 0: an ephemeral port (give the old one to restart "the same" server). */
  port?: number;
  /** Historizing variables H000… */
  points: number;
  valuesPerPoint: number;
  /** Timestamp of the first value of H000; point p is offset by p ms. */
  startMs: number;
  stepMs: number;
  /** Variables without history (no HistoryRead access level). Default 0. */
  withoutHistory?: number;
  /** Variables with the HistoryRead access level but no historian (BadHistoryOperationUnsupported). Default 0. */
  unsupported?: number;
  /** Server operation limit MaxNodesPerHistoryReadData (default 1000). */
  maxNodesPerHistoryReadData?: number;
}

/** One stored history value as the server keeps it. */
export interface HistoryValue {
  ms: number;
  /** What the API must store for it (the connector's rendering, computed independently here). */
  text: string;
  /** 0 Good, 1 Uncertain, 2 Bad. */
  quality: 0 | 1 | 2;
}

type Kind = "Double" | "Float" | "String";

/** Point p's type: mostly Double, some Float (shortest float32 text) and String. */
const kindOf = (p: number): Kind => (p % 10 === 3 ? "Float" : p % 10 === 7 ? "String" : "Double");

function valueOf(kind: Kind, p: number, k: number): { variant: Variant; text: string } {
  if (kind === "Float") {
    const x = (k % 1000) / 8; // multiples of 1/8: exact in float32, shortest text is the decimal
    return { variant: new Variant({ dataType: DataType.Float, value: x }), text: String(x) };
  }
  if (kind === "String") {
    const s = `p${p}-v${k}`;
    return { variant: new Variant({ dataType: DataType.String, value: s }), text: s };
  }
  const x = (p * 100_000 + k) / 4;
  return { variant: new Variant({ dataType: DataType.Double, value: x }), text: String(x) };
}

function statusOf(k: number): { status: StatusCode; quality: 0 | 1 | 2 } {
  if (k % 500 === 250) return { status: StatusCodes.BadSensorFailure, quality: 2 };
  if (k % 500 === 100) return { status: StatusCodes.UncertainLastUsableValue, quality: 1 };
  return { status: StatusCodes.Good, quality: 0 };
}

export class HistorianServer {
  /** Historizing variable name → its stored history, in the order the server holds it. */
  readonly history = new Map<string, HistoryValue[]>();
  readonly names: string[] = [];
  readonly withoutHistory: string[] = [];
  readonly unsupported: string[] = [];

  private constructor(
    private readonly server: OPCUAServer,
    readonly port: number,
    /** Milliseconds spent filling the history. */
    readonly fillMs: number,
  ) {}

  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.port}`;
  }

  /** The mapping node id of a variable: nsu=…;s=Historian.<name>. */
  nodeId(name: string): string {
    return `nsu=${HISTORIAN_NS};s=Historian.${name}`;
  }

  /** Values stored in the range, as many as there are (Bad ones and same-ms repeats included). */
  storedIn(name: string, fromMs: number, toMs: number): number {
    return this.history.get(name)!.filter((v) => v.ms >= fromMs && v.ms < toMs).length;
  }

  /**
   * What the API must end up with for [fromMs, toMs): Good and Uncertain values, the first of each
   * millisecond, as { timestamp, value } in time order.
   */
  expected(name: string, fromMs: number, toMs: number): { timestamp: string; value: string }[] {
    const seen = new Set<number>();
    const out: { timestamp: string; value: string }[] = [];
    for (const v of this.history.get(name)!) {
      if (v.ms < fromMs || v.ms >= toMs || v.quality === 2 || seen.has(v.ms)) continue;
      seen.add(v.ms);
      out.push({ timestamp: new Date(v.ms).toISOString(), value: v.text });
    }
    return out.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  }

  static async start(spec: HistorianSpec): Promise<HistorianServer> {
    const serverCertificateManager = new OPCUACertificateManager({ rootFolder: join(spec.pkiDir, "server"), automaticallyAcceptUnknownCertificate: true });
    const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(spec.pkiDir, "user"), automaticallyAcceptUnknownCertificate: true });
    await serverCertificateManager.initialize();
    await userCertificateManager.initialize();
    const server = new OPCUAServer({
      port: spec.port ?? 0,
      hostname: "127.0.0.1",
      alternateHostname: ["127.0.0.1"],
      serverCertificateManager,
      userCertificateManager,
      maxConnectionsPerEndpoint: 50,
      serverCapabilities: {
        maxSessions: 50,
        operationLimits: { maxNodesPerHistoryReadData: spec.maxNodesPerHistoryReadData ?? 1000, maxNodesPerRead: 1000 },
      } as never,
      buildInfo: { productName: "opcua-ingest test historian" },
    });
    await server.initialize();
    const addressSpace = server.engine.addressSpace!;
    const ns = addressSpace.registerNamespace(HISTORIAN_NS);
    const folder = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Historian", nodeId: "s=Historian" });
    const t0 = performance.now();
    const self = { history: new Map<string, HistoryValue[]>(), names: [] as string[], withoutHistory: [] as string[], unsupported: [] as string[] };

    for (let p = 0; p < spec.points; p++) {
      const name = `H${String(p).padStart(3, "0")}`;
      const kind = kindOf(p);
      const variable = addVariable(ns, folder, name, kind, true);
      // Keeps everything we put in (the default keeps only the last 1,000 values).
      addressSpace.installHistoricalDataNode(variable, { maxOnlineValues: spec.valuesPerPoint * 2 + 10 });
      const values: HistoryValue[] = [];
      for (let k = 0; k < spec.valuesPerPoint; k++) {
        const ms = spec.startMs + k * spec.stepMs + p;
        const { variant, text } = valueOf(kind, p, k);
        const { status, quality } = statusOf(k);
        variable.setValueFromSource(variant, status, new Date(ms));
        values.push({ ms, text, quality });
        if (p % 10 === 5 && k % 1000 === 999) {
          // A second value in the same millisecond: the API keeps the first.
          const again = valueOf(kind, p, k + 500_000);
          variable.setValueFromSource(again.variant, StatusCodes.Good, new Date(ms));
          values.push({ ms, text: again.text, quality: 0 });
        }
      }
      self.history.set(name, values);
      self.names.push(name);
    }
    for (let i = 0; i < (spec.withoutHistory ?? 0); i++) {
      const name = `NoHistory${String(i).padStart(3, "0")}`;
      addVariable(ns, folder, name, "Double", false).setValueFromSource(new Variant({ dataType: DataType.Double, value: 1 }));
      self.withoutHistory.push(name);
    }
    for (let i = 0; i < (spec.unsupported ?? 0); i++) {
      const name = `Unsupported${String(i).padStart(3, "0")}`;
      const v = addVariable(ns, folder, name, "Double", true);
      v.setValueFromSource(new Variant({ dataType: DataType.Double, value: 2 }));
      self.unsupported.push(name);
    }
    const fillMs = Math.round(performance.now() - t0);
    await server.start();
    const port = Number(new URL(server.getEndpointUrl().replace("opc.tcp:", "http:")).port);
    const h = new HistorianServer(server, port, fillMs);
    for (const [k, v] of self.history) h.history.set(k, v);
    h.names.push(...self.names);
    h.withoutHistory.push(...self.withoutHistory);
    h.unsupported.push(...self.unsupported);
    return h;
  }

  async stop(): Promise<void> {
    await this.server.shutdown(0);
  }
}

function addVariable(ns: Namespace, folder: Parameters<Namespace["addVariable"]>[0]["organizedBy"], name: string, kind: Kind, historyAccess: boolean): UAVariable {
  const access = historyAccess ? AccessLevelFlag.CurrentRead | AccessLevelFlag.HistoryRead : AccessLevelFlag.CurrentRead;
  return ns.addVariable({
    organizedBy: folder,
    browseName: name,
    nodeId: `s=Historian.${name}`,
    dataType: kind,
    accessLevel: access,
    userAccessLevel: access,
    historizing: historyAccess,
    minimumSamplingInterval: 0,
  });
}
