// Listen addresses in the mapping: "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464", "localhost:9464",
// or "off". The port is mandatory: a default port hidden in the code surprises whoever runs a firewall.
import { BlockList, isIP, isIPv4 } from "node:net";
import type { ListenAddress } from "./types.js";

/** Loopback only: reachable without a token from this machine alone. */
export const DEFAULT_LISTEN = "127.0.0.1:9464";

/** The accepted shape, for editors; parseListen checks the parts. */
export const LISTEN_PATTERN = /^(off|(\[[0-9A-Za-z:.%]+\]|[A-Za-z0-9.-]+):\d+)$/;

const EXAMPLES = "write host:port, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464, or off";
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** null for "off". Throws an Error that says what is wrong and how to write it. */
export function parseListen(text: string): ListenAddress | null {
  if (text === "off") return null;
  const quoted = JSON.stringify(text);
  if (text.toLowerCase() === "off") return fail(`${quoted}: write off in lower case to disable the listener`);
  if (/\s/.test(text)) return fail(`${quoted} contains spaces; ${EXAMPLES}`);

  let host: string;
  let port: string;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1] ?? "";
    if (isIP(host) !== 6) return fail(`${quoted}: "${host}" in brackets is not an IPv6 address; ${EXAMPLES}`);
    if (bracketed[2] === undefined) return fail(`${quoted} has no port; write [${host}]:9464`);
    port = bracketed[2];
  } else {
    const colons = text.split(":").length - 1;
    if (colons === 0) return fail(`${quoted} has no port; write ${text}:9464`);
    // "::1:9464" is itself an IPv6 address: only brackets tell the address from the port.
    if (colons > 1) return fail(`${quoted}: write an IPv6 address in brackets, then the port, e.g. [::1]:9464`);
    [host = "", port = ""] = text.split(":");
    if (host === "") return fail(`${quoted} has no host; write 0.0.0.0${text} for every interface, or 127.0.0.1${text} for this machine only`);
    if (/^[\d.]+$/.test(host) ? !isIPv4(host) : !HOST_NAME.test(host)) {
      return fail(`${quoted}: "${host}" is not an IPv4 address or host name; ${EXAMPLES}`);
    }
  }
  if (!/^\d+$/.test(port) || Number(port) > 65_535) return fail(`${quoted}: port "${port}" must be a whole number from 0 to 65535`);
  return { host, port: Number(port) };
}

function fail(message: string): never {
  throw new Error(message);
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** True when only this machine can connect: 127.0.0.0/8, ::1 (in any spelling) or localhost. */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === "localhost") return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? "ipv4" : "ipv6");
}
