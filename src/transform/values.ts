// Variant value → API string, one small converter per OPC UA type family, in one table.
// Pure: the OPC UA layer reduces node-opcua's Variant to (dataType id, arrayType, value).

import { float32ToString } from "./float32.js";

export { float32ToString };

/** OPC UA built-in type ids (Part 6, 5.1.2). */
export const DataTypeId = {
  Null: 0, Boolean: 1, SByte: 2, Byte: 3, Int16: 4, UInt16: 5, Int32: 6, UInt32: 7, Int64: 8, UInt64: 9,
  Float: 10, Double: 11, String: 12, DateTime: 13, Guid: 14, ByteString: 15, XmlElement: 16, NodeId: 17,
  ExpandedNodeId: 18, StatusCode: 19, QualifiedName: 20, LocalizedText: 21, ExtensionObject: 22,
  DataValue: 23, Variant: 24, DiagnosticInfo: 25,
} as const;

export type NonFinitePolicy = "drop" | "send";

/** Why a value produced no string. Counted per point by the pipeline. */
export type SkipReason = "null_value" | "non_finite" | "structured_skipped" | "unsupported_type";

export class Skip {
  constructor(readonly reason: SkipReason) {}
}
const NON_FINITE = new Skip("non_finite");
const UNSUPPORTED = new Skip("unsupported_type");

type Scalar = (v: unknown, nonFinite: NonFinitePolicy) => string | Skip;

function finite(x: number, policy: NonFinitePolicy, format: (x: number) => string): string | Skip {
  if (Number.isFinite(x)) return format(x === 0 ? 0 : x); // -0 → "0"
  return policy === "send" ? String(x) : NON_FINITE;
}

/** node-opcua gives 64-bit integers as [high, low] uint32 words; keep them exact through BigInt. */
function int64(v: unknown, signed: boolean): string | Skip {
  if (Array.isArray(v) && v.length === 2) {
    const n = (BigInt(v[0] >>> 0) << 32n) | BigInt(v[1] >>> 0);
    return (signed ? BigInt.asIntN(64, n) : BigInt.asUintN(64, n)).toString();
  }
  if (typeof v === "bigint" || typeof v === "number") return BigInt(v).toString();
  return UNSUPPORTED;
}

const integer: Scalar = (v) => (typeof v === "number" && Number.isInteger(v) ? String(v) : UNSUPPORTED);
const viaToString: Scalar = (v) => (v === null || v === undefined ? UNSUPPORTED : String(v));

const SCALARS: Partial<Record<number, Scalar>> = {
  [DataTypeId.Boolean]: (v) => (v ? "true" : "false"),
  [DataTypeId.SByte]: integer,
  [DataTypeId.Byte]: integer,
  [DataTypeId.Int16]: integer,
  [DataTypeId.UInt16]: integer,
  [DataTypeId.Int32]: integer, // enumerations arrive as Int32: sent as their integer
  [DataTypeId.UInt32]: integer,
  [DataTypeId.Int64]: (v) => int64(v, true),
  [DataTypeId.UInt64]: (v) => int64(v, false),
  [DataTypeId.Float]: (v, p) => (typeof v === "number" ? finite(v, p, float32ToString) : UNSUPPORTED),
  [DataTypeId.Double]: (v, p) => (typeof v === "number" ? finite(v, p, String) : UNSUPPORTED),
  [DataTypeId.String]: (v) => (typeof v === "string" ? v : UNSUPPORTED),
  [DataTypeId.XmlElement]: (v) => (typeof v === "string" ? v : UNSUPPORTED),
  [DataTypeId.DateTime]: (v) => (v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString() : UNSUPPORTED),
  [DataTypeId.Guid]: viaToString,
  [DataTypeId.ByteString]: (v) => (Buffer.isBuffer(v) ? v.toString("base64") : UNSUPPORTED),
  [DataTypeId.NodeId]: viaToString,
  [DataTypeId.ExpandedNodeId]: viaToString,
  [DataTypeId.QualifiedName]: viaToString,
  [DataTypeId.StatusCode]: (v) => {
    const code = typeof v === "object" && v !== null && "value" in v ? (v as { value: unknown }).value : v;
    return typeof code === "number" ? String(code) : UNSUPPORTED;
  },
  [DataTypeId.LocalizedText]: (v) => {
    if (typeof v !== "object" || v === null) return UNSUPPORTED;
    const text = (v as { text?: unknown }).text;
    return typeof text === "string" ? text : "";
  },
};

/** JSON text for arrays (matrices flattened) and structures; 64-bit integers stay exact JSON numbers. */
function toJson(dataType: number, v: unknown, nonFinite: NonFinitePolicy): string | Skip {
  if (dataType === DataTypeId.ExtensionObject) {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
  }
  const scalar = SCALARS[dataType];
  if (!scalar || !isIterable(v)) return UNSUPPORTED;
  const numeric = dataType >= DataTypeId.SByte && dataType <= DataTypeId.Double;
  const parts: string[] = [];
  for (const item of v) {
    const s = scalar(item, nonFinite);
    if (s instanceof Skip) return s;
    // JSON has no NaN/Infinity: those (sent only by policy) become strings.
    const bare = dataType === DataTypeId.Boolean || (numeric && Number.isFinite(Number(s)));
    parts.push(bare ? s : JSON.stringify(s));
  }
  return `[${parts.join(",")}]`;
}

function isIterable(v: unknown): v is Iterable<unknown> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

export interface ValueOptions {
  nonFinite: NonFinitePolicy;
  structured: "json" | "skip";
}

/** Per-point presentation of scalars: linear scaling, rounding, Boolean and enumeration forms. */
export interface ScalarOptions extends ValueOptions {
  scale: number;
  offset: number;
  decimals?: number;
  booleanAs: "text" | "number";
}

/** A scalar number as a JS number: Float via its shortest decimal (so 12.66f scales as 12.66). */
function numeric(dataType: number, v: unknown): number | undefined {
  if (dataType === DataTypeId.Float && typeof v === "number") return Number(float32ToString(v));
  if (dataType === DataTypeId.Int64 || dataType === DataTypeId.UInt64) {
    const s = int64(v, dataType === DataTypeId.Int64);
    return s instanceof Skip ? undefined : Number(s);
  }
  if (dataType >= DataTypeId.SByte && dataType <= DataTypeId.Double && typeof v === "number") return v;
  return undefined;
}

/**
 * valueToString plus the point's options. Without scale, offset or decimals numbers take the exact
 * path (Int64 digits stay exact); with them they are computed as doubles.
 */
export function presentValue(dataType: number, arrayType: number, value: unknown, o: ScalarOptions): string | Skip {
  if (arrayType === 0 && value !== null && value !== undefined) {
    if (dataType === DataTypeId.Boolean && o.booleanAs === "number") return value ? "1" : "0";
    if (o.scale !== 1 || o.offset !== 0 || o.decimals !== undefined) {
      const n = numeric(dataType, value);
      if (n !== undefined) {
        let y = n * o.scale + o.offset;
        if (o.decimals !== undefined && Number.isFinite(y)) y = Number(y.toFixed(o.decimals));
        return finite(y, o.nonFinite, String);
      }
    }
  }
  return valueToString(dataType, arrayType, value, o);
}

/** The API's string for a Variant value, or the reason it has none. */
export function valueToString(dataType: number, arrayType: number, value: unknown, opts: ValueOptions): string | Skip {
  if (value === null || value === undefined || dataType === DataTypeId.Null) return new Skip("null_value");
  const structured = arrayType !== 0 || dataType === DataTypeId.ExtensionObject;
  if (structured) return opts.structured === "skip" ? new Skip("structured_skipped") : toJson(dataType, value, opts.nonFinite);
  const scalar = SCALARS[dataType];
  return scalar ? scalar(value, opts.nonFinite) : UNSUPPORTED;
}
