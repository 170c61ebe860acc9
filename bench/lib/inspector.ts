// The live heap of another Node process: a full garbage collection through its inspector (the process
// runs with --inspect=127.0.0.1:0), then the heap in use. Heap "used" from /metrics counts garbage not
// yet collected, which rises and falls with V8's major-GC schedule; this does not.
import { WebSocket } from "undici";

export class InspectorSession {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
    ws.addEventListener("close", () => {
      for (const p of this.pending.values()) p.reject(new Error("inspector connection closed"));
      this.pending.clear();
    });
  }

  static connect(url: string, timeoutMs = 10_000): Promise<InspectorSession> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`inspector ${url}: no connection within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      ws.addEventListener("open", () => {
        clearTimeout(timer);
        resolve(new InspectorSession(ws));
      });
      ws.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error(`inspector ${url}: connection failed`));
      });
    });
  }

  send<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`inspector: no answer to ${method} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** MB of JS heap in use right after a full collection. */
  async liveHeapMb(): Promise<number> {
    await this.send("HeapProfiler.collectGarbage");
    const usage = await this.send<{ usedSize: number; totalSize: number }>("Runtime.getHeapUsage");
    return usage.usedSize / 1048576;
  }

  close(): void {
    this.ws.close();
  }
}
