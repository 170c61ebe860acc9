import { setDebugLogger, setErrorLogger, setWarningLogger } from "node-opcua";
import { format } from "node:util";
import type { Logger } from "pino";

// node-opcua prints through console.log, multi-line dumps included; that would interleave with our
// JSON logs. Route it into pino instead: its warnings (e.g. W27, harmless with SecurityPolicy None)
// at debug, its errors at warn. Installed at import, before node-opcua's own async start-up checks log.
let sink: Logger | undefined;

const forward = (level: "debug" | "warn") => (_ctx: unknown, ...args: unknown[]) => {
  sink?.[level]({ component: "node-opcua" }, format(...args).trim());
};
setDebugLogger(() => {});
setWarningLogger(forward("debug"));
setErrorLogger(forward("warn"));

export function routeOpcuaLogs(logger: Logger): void {
  sink = logger;
}
