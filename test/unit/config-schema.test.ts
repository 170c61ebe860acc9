import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { mappingJsonSchema } from "../../src/config/index.js";

const schemaFile = fileURLToPath(new URL("../../mappings/schema.json", import.meta.url));
const generated = JSON.stringify(mappingJsonSchema(), null, 2) + "\n";

type Json = Record<string, any>;

describe("mappings/schema.json", () => {
  it("is up to date with the zod schema (UPDATE_SCHEMA=1 npx vitest run test/unit/config-schema rewrites it)", () => {
    if (process.env.UPDATE_SCHEMA === "1") writeFileSync(schemaFile, generated);
    expect(readFileSync(schemaFile, "utf8")).toBe(generated);
  });

  it("describes the raw file: required sections, strict keys, durations as text or 0, descriptions", () => {
    const schema = mappingJsonSchema() as Json;
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(schema.required).toEqual(["ingest", "points"]);
    expect(schema.oneOf).toEqual([{ required: ["opcua"] }, { required: ["sources"] }]);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toContain("$schema");

    const opcua = schema.properties.opcua;
    expect(opcua.required).toEqual(["endpoint"]);
    expect(opcua.additionalProperties).toBe(false);
    expect(opcua.properties.securityMode.default).toBe("None");
    expect(opcua.properties.securityMode.description).toMatch(/SignAndEncrypt/);

    const sampling = schema.properties.defaults.properties.samplingInterval;
    expect(sampling.default).toBe("1s");
    expect(sampling.anyOf).toEqual(
      expect.arrayContaining([{ type: "number", const: 0 }, expect.objectContaining({ type: "string", pattern: expect.any(String) })]),
    );
    const maxValues = schema.properties.batch.properties.maxValues;
    expect(maxValues.anyOf[0]).toEqual({ type: "integer", minimum: 1, maximum: 100 });

    const point = schema.properties.points.items;
    expect(point.required).toEqual(["nodeId", "pointId"]);
    expect(schema.properties.points.minItems).toBe(1);
    for (const [key, value] of Object.entries(point.properties as Json)) {
      expect(value.description, `points[].${key} has a description`).toMatch(/\w/);
    }
  });

  it("describes the optional sections, sizes, listen addresses and the gapFill shorthand", () => {
    const schema = mappingJsonSchema() as Json;
    const { spool, gapFill, backfill, ops, ingest, defaults, points } = schema.properties;
    for (const section of [spool, backfill, ops]) {
      expect(section.type).toBe("object");
      expect(section.additionalProperties).toBe(false);
      expect(section.required).toBeUndefined();
      for (const [key, value] of Object.entries(section.properties as Json)) expect(value.description, key).toMatch(/\w/);
    }
    expect(schema.required).toEqual(["ingest", "points"]);
    expect(schema.oneOf).toEqual([{ required: ["opcua"] }, { required: ["sources"] }]);
    expect(spool.properties.maxBytes.default).toBe("1GiB");
    expect(spool.properties.maxBytes.anyOf).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "integer", minimum: 1_048_576 }),
        { type: "string", pattern: "^\\d+(\\.\\d+)?(B|KB|MB|GB|KiB|MiB|GiB)$" },
      ]),
    );
    expect(ops.properties.listen.default).toBe("127.0.0.1:9464");
    expect(ops.properties.token.description).toMatch(/Bearer token/);
    expect(ingest.properties.tlsInsecure.description).toBe(
      "Disable TLS certificate verification of the API — for tests only; logged as a warning",
    );
    expect(ingest.properties.retryMaxElapsed.default).toBe(0);

    expect(gapFill.default).toEqual({ enabled: "auto", maxWindow: "24h" });
    const [shorthand, object] = gapFill.anyOf as Json[];
    expect(shorthand).toEqual({ type: "boolean" });
    expect(object?.additionalProperties).toBe(false);
    expect(Object.keys(object?.properties)).toEqual(["enabled", "maxWindow"]);

    for (const key of ["scale", "offset", "decimals", "booleanAs", "enumAs", "heartbeat", "trigger"]) {
      expect(points.items.properties[key]?.description, key).toMatch(/\w/);
      expect(defaults.properties[key]?.description, key).toMatch(/\w/);
    }
    expect(defaults.properties.heartbeat.default).toBe("off");
    expect(defaults.properties.decimals.default).toBeUndefined();
  });

  it("admits ${VAR} references where the value is not free text, exactly once", () => {
    const schema = mappingJsonSchema() as Json;
    const envAlternatives = (property: Json) =>
      (property.anyOf ?? []).filter((option: Json) => String(option.pattern).startsWith("^\\$\\{"));
    const { opcua, batch, defaults, points, spool, gapFill, ops } = schema.properties;
    const gapFillObject = gapFill.anyOf.find((option: Json) => option.type === "object");
    const percent = defaults.properties.deadband.anyOf.find((option: Json) => option.properties?.percent !== undefined);
    for (const property of [
      spool.properties.maxBytes,
      gapFill,
      gapFillObject.properties.maxWindow,
      gapFillObject.properties.enabled,
      percent.properties.percent,
      ops.properties.listen,
      defaults.properties.heartbeat,
      points.items.properties.scale,
      opcua.properties.endpoint,
      batch.properties.maxValues,
      batch.properties.maxDelay,
      defaults.properties.samplingInterval,
      points.items.properties.samplingInterval,
      opcua.properties.trustServerCertificate,
    ]) {
      expect(envAlternatives(property)).toHaveLength(1);
      expect(new RegExp(envAlternatives(property)[0].pattern).test("${NAME:-5s}")).toBe(true);
    }
  });

  it("knows every key the full fixture uses", () => {
    const full = parse(readFileSync(new URL("../fixtures/mappings/full.yaml", import.meta.url), "utf8")) as Json;
    const schema = mappingJsonSchema() as Json;
    const check = (value: Json, properties: Json, where: string) => {
      for (const key of Object.keys(value)) expect(Object.keys(properties), `${where}.${key}`).toContain(key);
    };
    check(full, schema.properties, "(root)");
    for (const section of ["opcua", "ingest", "batch", "spool", "backfill", "ops", "defaults"]) {
      check(full[section], schema.properties[section].properties, section);
    }
    const gapFillObject = schema.properties.gapFill.anyOf.find((option: Json) => option.type === "object");
    check(full.gapFill, gapFillObject.properties, "gapFill");
    check(full.opcua.user, schema.properties.opcua.properties.user.properties, "opcua.user");
    for (const point of full.points) check(point, schema.properties.points.items.properties, "points[]");
  });
});
