/** One value of one point, converted and ready for the API. */
export interface Sample {
  pointId: string;
  /** Epoch milliseconds, already truncated (never rounded). */
  ts: number;
  value: string;
  /** 0 Good, 1 Uncertain, 2 Bad (OPC UA severity). */
  quality: 0 | 1 | 2;
}

/** What a request carries of a sample. */
export type Value = Pick<Sample, "ts" | "value" | "quality">;

/** What src/opcua hands to the pipeline: node-opcua's DataValue reduced to plain data, so conversion is pure. */
export interface RawDataValue {
  /** OPC UA built-in type id (1 Boolean … 25 DiagnosticInfo); 0 when the value is null. */
  dataType: number;
  /** 0 scalar, 1 array, 2 matrix. */
  arrayType: number;
  value: unknown;
  statusCode: number;
  /** Epoch ms (node-opcua's Date is already floored to the ms) or null when not provided / MinDate. */
  sourceTimestamp: number | null;
  serverTimestamp: number | null;
  /** Epoch ms at which the client received it. */
  receivedAt: number;
}
