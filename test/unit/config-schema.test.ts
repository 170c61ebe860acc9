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
    expect(schema.required).toEqual(["opcua", "ingest", "points"]);
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

  it("admits ${VAR} references where the value is not free text, exactly once", () => {
    const schema = mappingJsonSchema() as Json;
    const envAlternatives = (property: Json) =>
      (property.anyOf ?? []).filter((option: Json) => String(option.pattern).startsWith("^\\$\\{"));
    const { opcua, batch, defaults, points } = schema.properties;
    for (const property of [
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
    for (const section of ["opcua", "ingest", "batch", "defaults"]) {
      check(full[section], schema.properties[section].properties, section);
    }
    check(full.opcua.user, schema.properties.opcua.properties.user.properties, "opcua.user");
    for (const point of full.points) check(point, schema.properties.points.items.properties, "points[]");
  });
});
