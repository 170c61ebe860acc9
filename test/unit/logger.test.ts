import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/ops/logger.js";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { log: createLogger("info", stream), lines };
}

describe("logger", () => {
  it("redacts secrets wherever they appear in a log object", () => {
    const { log, lines } = capture();
    log.info({ clientSecret: "cs-1", ingest: { clientSecret: "cs-2" }, user: { password: "pw-1" }, password: "pw-2", token: "tk-1",
      access_token: "tk-2", headers: { authorization: "Bearer tk-3" }, authorization: "Bearer tk-4", privateKey: "-----BEGIN PRIVATE KEY-----x", opcua: { user: { password: "pw-3" } } }, "with secrets");
    const text = lines.join("");
    for (const secret of ["cs-1", "cs-2", "pw-1", "pw-2", "pw-3", "tk-1", "tk-2", "tk-3", "tk-4", "BEGIN PRIVATE KEY"]) expect(text).not.toContain(secret);
    expect(text).toContain("[redacted]");
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "info", msg: "with secrets", name: "opcua-ingest" });
  });

  it("keeps ordinary fields", () => {
    const { log, lines } = capture();
    log.warn({ pointId: "p-1", status: 404 }, "refused");
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "warn", pointId: "p-1", status: 404, msg: "refused" });
  });
});
