// A point with `field` or `indexRange` takes one part of its node's value: the array element the
// server was asked for (unwrapped to a scalar when it is one element) and the structure field the
// path names (decoded through the server's DataTypeDefinition by node-opcua). The result is a
// RawDataValue like any scalar's, so conversion does not know the difference.
import { DataType } from "node-opcua";
import { isSingleElement, parseFieldPath, parseNumericRange, type IndexSpan } from "../config/numericrange.js";
import type { PointConfig } from "../config/types.js";
import type { RawDataValue } from "../core/types.js";
import { pickField, type StructField } from "../transform/field.js";

/** How a point's values are narrowed; undefined when the point takes the whole value. */
export interface Narrowing {
  spans?: IndexSpan[];
  /** Every dimension one index: the server's one-element array becomes a scalar. */
  single: boolean;
  field?: string[];
}

export function narrowingOf(p: Pick<PointConfig, "field" | "indexRange">): Narrowing | undefined {
  if (p.field === undefined && p.indexRange === undefined) return undefined;
  const spans = p.indexRange === undefined ? undefined : parseNumericRange(p.indexRange);
  return {
    ...(spans && { spans }),
    single: spans !== undefined && isSingleElement(spans),
    ...(p.field !== undefined && { field: parseFieldPath(p.field) }),
  };
}

const BAD_INDEX_RANGE_NO_DATA = 0x80370000;
const BAD_INDEX_RANGE_INVALID = 0x80360000;

export type Narrowed = { ok: true; raw: RawDataValue } | { ok: false; reason: string; status?: "range" };

/** Whether a status says the index range does not fit the node's value. */
export function isIndexRangeStatus(statusCode: number): boolean {
  const code = (statusCode & 0xffff0000) >>> 0;
  return code === BAD_INDEX_RANGE_NO_DATA || code === BAD_INDEX_RANGE_INVALID;
}

/** The part of `raw` the point takes. A Bad value (other than a range problem) passes as it is, to be dropped or sent by policy. */
export function narrow(raw: RawDataValue, n: Narrowing): Narrowed {
  if (isIndexRangeStatus(raw.statusCode)) return { ok: false, reason: "range", status: "range" };
  if (raw.value === null || raw.value === undefined) return { ok: true, raw };
  let dataType = raw.dataType;
  let arrayType = raw.arrayType;
  let value: unknown = raw.value;
  if (n.spans !== undefined) {
    if (arrayType === 0) return { ok: false, reason: `indexRange ${formatSpans(n.spans)} asks for an array element, but the value is a scalar (${DataType[dataType] ?? dataType})` };
    let items = asArray(value);
    // A server that ignores the index range (some historians do) sends the whole 1-D array: cut it here.
    const span = n.spans[0]!;
    const want = span.last - span.first + 1;
    if (n.spans.length === 1 && items.length > want) {
      if (items.length <= span.first) return { ok: false, reason: `indexRange ${formatSpans(n.spans)} is outside the array: it has ${items.length} element(s)`, status: "range" };
      items = items.slice(span.first, span.last + 1);
      value = items;
    }
    if (n.single) {
      if (items.length !== 1) return { ok: false, reason: `indexRange ${formatSpans(n.spans)} gave ${items.length} elements, expected 1`, status: "range" };
      value = items[0];
      arrayType = 0;
    }
  }
  if (n.field !== undefined) {
    if (dataType !== DataType.ExtensionObject) {
      return { ok: false, reason: `field ${n.field.join(".")} asks for a structure field, but the value is ${arrayType === 0 ? "" : "an array of "}${DataType[dataType] ?? dataType}, not a structure` };
    }
    if (arrayType !== 0) return { ok: false, reason: `field ${n.field.join(".")} asks for a structure field, but the value is an array of structures; add an indexRange such as "0" to pick one` };
    const picked = pickField(value, n.field, describeStructure);
    if (!picked.ok) return { ok: false, reason: picked.reason };
    ({ dataType, arrayType, value } = picked);
  }
  return { ok: true, raw: { ...raw, dataType, arrayType, value } };
}

function asArray(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>);
  return [value];
}

function formatSpans(spans: readonly IndexSpan[]): string {
  return spans.map((s) => (s.first === s.last ? String(s.first) : `${s.first}:${s.last}`)).join(",");
}

interface NodeOpcuaField {
  name: string;
  originalName?: string;
  fieldType: string;
  category?: string;
  isArray?: boolean;
  basicDataType?: number;
  schema?: { subType?: string; name?: string };
}

/** The fields of a structure node-opcua decoded (its schema comes from the server's DataTypeDefinition or the standard types). */
export function describeStructure(value: unknown): StructField[] | undefined {
  const schema = (value as { schema?: { fields?: NodeOpcuaField[] } } | null)?.schema;
  if (!schema || !Array.isArray(schema.fields)) return undefined;
  return schema.fields.map((f) => ({
    name: f.originalName ?? f.name,
    key: f.name,
    dataType: builtinOf(f),
    isArray: f.isArray === true,
  }));
}

function builtinOf(f: NodeOpcuaField): number {
  if (f.category === "complex") return DataType.ExtensionObject;
  if (f.category === "enumeration") return DataType.Int32;
  if (typeof f.basicDataType === "number" && f.basicDataType > 0) return f.basicDataType;
  // A standard basic type, or a subtype of one (UtcTime → DateTime, Duration → Double).
  let name: string | undefined = f.fieldType.replace(/^.*:/, "");
  let schema = f.schema;
  for (let depth = 0; name !== undefined && depth < 8; depth++) {
    const id = (DataType as unknown as Record<string, number>)[name];
    if (typeof id === "number") return id;
    name = schema?.subType;
    schema = undefined;
  }
  return DataType.Null;
}
