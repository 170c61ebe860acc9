import { describe, expect, it } from "vitest";
import { parseNodeId, type ParsedNodeId } from "../../src/config/index.js";

describe("parseNodeId", () => {
  it.each<[string, ParsedNodeId]>([
    ["i=2258", { namespace: { index: 0 }, identifierType: "i", identifier: "2258" }],
    ["ns=3;i=4294967295", { namespace: { index: 3 }, identifierType: "i", identifier: "4294967295" }],
    ["ns=3;s=Boiler1.Temperature", { namespace: { index: 3 }, identifierType: "s", identifier: "Boiler1.Temperature" }],
    ["ns=2;s=a;b=c;i=1", { namespace: { index: 2 }, identifierType: "s", identifier: "a;b=c;i=1" }],
    ["s=Counter", { namespace: { index: 0 }, identifierType: "s", identifier: "Counter" }],
    ["  ns=65535;s= padded  ", { namespace: { index: 65535 }, identifierType: "s", identifier: " padded" }],
    [
      "ns=1;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63",
      { namespace: { index: 1 }, identifierType: "g", identifier: "72962B91-FA75-4AE6-8D28-B404DC7DAF63" },
    ],
    ["ns=1;b=M/RbKBsRVkePCePcx24oRA==", { namespace: { index: 1 }, identifierType: "b", identifier: "M/RbKBsRVkePCePcx24oRA==" }],
    ["nsu=urn:plant:boilers;i=1001", { namespace: { uri: "urn:plant:boilers" }, identifierType: "i", identifier: "1001" }],
    [
      "nsu=http://example.com/UA/;s=Line 1/Speed",
      { namespace: { uri: "http://example.com/UA/" }, identifierType: "s", identifier: "Line 1/Speed" },
    ],
  ])("accepts %j", (text, parsed) => {
    expect(parseNodeId(text)).toEqual(parsed);
  });

  it.each([
    ["", "node id is empty; write e.g. ns=3;s=Boiler1.Temperature or i=2258"],
    ["   ", "node id is empty; write e.g. ns=3;s=Boiler1.Temperature or i=2258"],
    [
      "Boiler1.Temperature",
      '"Boiler1.Temperature" is not a node id: the identifier type is missing; write e.g. ns=<index>;s=Boiler1.Temperature (identifier types: i= (numeric), s= (string), g= (GUID) or b= (opaque, base64))',
    ],
    [
      "ns=3;Boiler1",
      '"ns=3;Boiler1" is not a node id: the identifier type is missing; write e.g. ns=3;s=Boiler1 (identifier types: i= (numeric), s= (string), g= (GUID) or b= (opaque, base64))',
    ],
    ["ns=3", '"ns=3" is not a node id: nothing follows the namespace; add the identifier, e.g. ns=3;s=Tag'],
    ["ns=x;i=5", '"ns=x;i=5" is not a node id: namespace index "x" must be a whole number from 0 to 65535'],
    ["ns=65536;i=5", '"ns=65536;i=5" is not a node id: namespace index "65536" must be a whole number from 0 to 65535'],
    ["ns=-1;i=5", '"ns=-1;i=5" is not a node id: namespace index "-1" must be a whole number from 0 to 65535'],
    ["nsu=;i=5", '"nsu=;i=5" is not a node id: the namespace URI after nsu= is empty'],
    ["ns=2;i=abc", '"ns=2;i=abc" is not a node id: numeric identifier "abc" must be a whole number from 0 to 4294967295'],
    ["i=4294967296", '"i=4294967296" is not a node id: numeric identifier "4294967296" must be a whole number from 0 to 4294967295'],
    ["i=", '"i=" is not a node id: numeric identifier "" must be a whole number from 0 to 4294967295'],
    ["ns=2;s=", '"ns=2;s=" is not a node id: the string identifier after s= is empty'],
    [
      "ns=1;g=72962b91-fa75-4ae6-8d28",
      '"ns=1;g=72962b91-fa75-4ae6-8d28" is not a node id: GUID identifier "72962b91-fa75-4ae6-8d28" must be 8-4-4-4-12 hex digits, e.g. 72962b91-fa75-4ae6-8d28-b404dc7daf63',
    ],
    ["ns=1;b=not base64!", '"ns=1;b=not base64!" is not a node id: opaque identifier "not base64!" is not base64'],
    ["ns=1;b=abc", '"ns=1;b=abc" is not a node id: opaque identifier "abc" is not base64'],
    [
      "ns=1;x=5",
      '"ns=1;x=5" is not a node id: unknown identifier type "x="; use i= (numeric), s= (string), g= (GUID) or b= (opaque, base64)',
    ],
    ["NS=1;S=Tag", '"NS=1;S=Tag" is not a node id: "NS=" must be written in lower case: "ns="'],
    ["ns=1;S=Tag", '"ns=1;S=Tag" is not a node id: "S=" must be written in lower case: "s="'],
  ])("rejects %j", (text, message) => {
    expect(() => parseNodeId(text)).toThrow(new Error(message));
  });
});
