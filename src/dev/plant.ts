import { SimServer, type SimType } from "./simserver.js";

interface Signal {
  name: string;
  type: SimType;
  periodMs: number;
  next(t: number, i: number): unknown;
  /** Several changes per millisecond, with sub-millisecond source timestamps. */
  subMs?: boolean;
}

const UINT64_START = 2n ** 53n - 5n; // passes 2^53 within seconds: exact UInt64 or nothing

const SIGNALS: Signal[] = [
  { name: "Boiler1.Temperature", type: "Double", periodMs: 250, next: (t) => Math.round((82 + 6 * Math.sin(t / 20_000) + Math.random() * 0.4) * 100) / 100 },
  { name: "Boiler1.Pressure", type: "Float", periodMs: 500, next: (t) => Math.fround(4.2 + 0.3 * Math.sin(t / 7_000)) },
  { name: "Line1.FlowCounter", type: "UInt64", periodMs: 1000, next: (_t, i) => u64Words(UINT64_START + BigInt(i) * 3n) },
  { name: "Line1.Running", type: "Boolean", periodMs: 5000, next: (_t, i) => i % 4 !== 3 },
  { name: "Line1.State", type: "String", periodMs: 5000, next: (_t, i) => ["Running", "Running", "Running", "Cleaning"][i % 4] },
  { name: "Line1.Vibration", type: "Double", periodMs: 200, next: () => Math.round(Math.random() * 1000) / 1000, subMs: true },
];

function u64Words(n: bigint): [number, number] {
  return [Number(n >> 32n), Number(n & 0xffffffffn)];
}

/** The demo's simulated plant: a few realistic signals on a SimServer, changing on timers. */
export class DemoPlant {
  private timers: NodeJS.Timeout[] = [];
  private constructor(readonly server: SimServer) {}

  static async start(pkiDir: string, port = 0, host?: string): Promise<DemoPlant> {
    const server = await SimServer.start({ port, pkiDir, namespaceUri: "urn:opcua-ingest:demo-plant", ...(host && { host }) });
    for (const s of SIGNALS) server.addVariable(s.name, s.type, s.next(Date.now(), 0));
    const plant = new DemoPlant(server);
    for (const s of SIGNALS) {
      let i = 0;
      plant.timers.push(
        setInterval(() => {
          i++;
          const now = Date.now();
          if (s.subMs) {
            // Three changes inside one millisecond (200, 500, 800 µs): one is stored, two are merged away.
            for (const us of [200, 500, 800]) server.set(s.name, s.type, s.next(now, i), new Date(now), us * 1_000_000);
          } else {
            server.set(s.name, s.type, s.next(now, i), new Date(now));
          }
        }, s.periodMs),
      );
    }
    return plant;
  }

  async stop(): Promise<void> {
    this.timers.forEach(clearInterval);
    await this.server.stop();
  }
}
