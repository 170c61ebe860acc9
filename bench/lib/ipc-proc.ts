// The process side of the harness's IPC (Child.rpc in ./proc.ts), for bench/procs/*: each message
// { id, cmd, ... } is answered { id, ...result } or { id, error }; { id: 0 } says the process is
// ready; "stop" runs the process's own stop (at most 3 s), is answered { ok: true } and ends it; the
// harness going away ends it too.
export type Command = (msg: Record<string, unknown>) => unknown;

export function serveIpc(commands: Record<string, Command>, stop?: () => Promise<unknown>): void {
  process.on("message", (msg: { id: number; cmd: string } & Record<string, unknown>) => {
    const reply = (body: unknown) => process.send!({ id: msg.id, ...(body as object) });
    const fail = (err: unknown) => process.send!({ id: msg.id, error: (err as Error)?.stack ?? String(err) });
    if (msg.cmd === "stop") {
      void Promise.race([Promise.resolve(stop?.()).catch(() => {}), new Promise((r) => setTimeout(r, 3_000).unref())]).finally(() => {
        reply({ ok: true });
        process.exit(0);
      });
      return;
    }
    const command = commands[msg.cmd];
    if (!command) return fail(new Error(`unknown command ${msg.cmd}`));
    try {
      Promise.resolve(command(msg)).then(reply, fail);
    } catch (err) {
      fail(err);
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send!({ id: 0 });
}
