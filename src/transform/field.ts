// One field of a structure value, by its dotted path (points[].field): the field's value is then
// converted exactly as a scalar of the field's type would be. Pure: the OPC UA layer describes a
// decoded structure's fields (from the server's DataTypeDefinition); this walks the path.
import { DataTypeId } from "./values.js";

/** One field of a decoded structure, as the OPC UA layer describes it. */
export interface StructField {
  /** As in the DataTypeDefinition (what a mapping's field path names), e.g. "Temperature". */
  name: string;
  /** Property of the decoded object holding the value (node-opcua lower-cases the first letter). */
  key: string;
  /** Built-in type id of the field's values (enumerations: Int32, structures: ExtensionObject, BaseDataType: Variant). */
  dataType: number;
  isArray: boolean;
}

/** The fields of a decoded structure value, or undefined when the value is not a structure. */
export type DescribeStructure = (value: unknown) => readonly StructField[] | undefined;

/** The picked field's value, shaped like a Variant's (dataType, arrayType, value). */
export type Picked = { ok: true; dataType: number; arrayType: number; value: unknown } | { ok: false; reason: string };

/**
 * Walks `path` (field names as in the DataTypeDefinition) into `value`, at any nesting depth.
 * A missing field is reported with the fields the structure actually has.
 */
export function pickField(value: unknown, path: readonly string[], describe: DescribeStructure): Picked {
  let current = value;
  let walked = "";
  let dataType: number = DataTypeId.ExtensionObject;
  let arrayType = 0;
  for (const segment of path) {
    const where = walked === "" ? "the value" : `field ${walked}`;
    if (arrayType !== 0) return { ok: false, reason: `${where} is an array, not a structure: a field path cannot go into it` };
    const fields = current === null || current === undefined ? undefined : describe(current);
    if (fields === undefined) {
      return { ok: false, reason: `${where} is not a structure${current === null || current === undefined ? " (it is empty)" : ""}, so it has no field ${JSON.stringify(segment)}` };
    }
    const field = fields.find((f) => f.name === segment) ?? fields.find((f) => f.name.toLowerCase() === segment.toLowerCase());
    if (field === undefined) {
      const names = fields.map((f) => f.name);
      return { ok: false, reason: `${where} has no field ${JSON.stringify(segment)}; its fields: ${names.length ? names.join(", ") : "none"}` };
    }
    walked = walked === "" ? field.name : `${walked}.${field.name}`;
    current = (current as Record<string, unknown>)[field.key];
    dataType = field.dataType;
    arrayType = field.isArray ? 1 : 0;
    // A BaseDataType field holds a Variant: its own type says how to convert it.
    if (dataType === DataTypeId.Variant && isVariantLike(current)) {
      dataType = current.dataType;
      arrayType = current.arrayType ?? 0;
      current = current.value;
    }
  }
  return { ok: true, dataType, arrayType, value: current };
}

function isVariantLike(v: unknown): v is { dataType: number; arrayType?: number; value: unknown } {
  return typeof v === "object" && v !== null && typeof (v as { dataType?: unknown }).dataType === "number" && "value" in v;
}
