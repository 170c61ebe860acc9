import { describe, expect, it } from "vitest";
import { NodeIdError, resolveMappedNodeId } from "../../src/opcua/nodeid.js";

describe("mapping node id → server node id", () => {
  const ns = ["http://opcfoundation.org/UA/", "urn:server", "urn:plant:boilers", "urn:plant:lines"];

  it("resolves a namespace URI against the session's namespace array, wherever it moved", () => {
    expect(resolveMappedNodeId("nsu=urn:plant:boilers;s=Boiler1.Temperature", ns).toString()).toBe("ns=2;s=Boiler1.Temperature");
    const renumbered = [ns[0]!, ns[1]!, ns[3]!, ns[2]!];
    expect(resolveMappedNodeId("nsu=urn:plant:boilers;s=Boiler1.Temperature", renumbered).toString()).toBe("ns=3;s=Boiler1.Temperature");
    expect(resolveMappedNodeId("nsu=urn:plant:lines;i=1042", ns).toString()).toBe("ns=3;i=1042");
  });

  it("keeps s= identifiers that contain ; and =", () => {
    expect(resolveMappedNodeId("nsu=urn:plant:lines;s=a;b=c", ns).toString()).toBe("ns=3;s=a;b=c");
  });

  it("takes a namespace index as written", () => {
    expect(resolveMappedNodeId("ns=7;s=X", ns).toString()).toBe("ns=7;s=X");
    expect(resolveMappedNodeId("i=2258", ns).toString()).toBe("ns=0;i=2258");
  });

  it("names a namespace URI the server does not have", () => {
    expect(() => resolveMappedNodeId("nsu=urn:elsewhere;s=X", ns)).toThrow(NodeIdError);
    expect(() => resolveMappedNodeId("nsu=urn:elsewhere;s=X", ns)).toThrow(/urn:elsewhere/);
  });
});
