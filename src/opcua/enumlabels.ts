import { AttributeIds, makeBrowsePath, type ClientSession, type NodeId } from "node-opcua";

/**
 * Labels of an enumeration-typed variable, index = value: the DataType's EnumStrings
 * (LocalizedText[]) or, failing that, its EnumValues (value → displayName). Undefined when the
 * variable's type is no enumeration or the server does not say.
 */
export async function readEnumLabels(session: ClientSession, variable: NodeId): Promise<string[] | undefined> {
  const dt = await session.read({ nodeId: variable, attributeId: AttributeIds.DataType });
  const dataType = dt.value.value as NodeId | null;
  if (!dt.statusCode.isGood() || !dataType) return undefined;
  const [strings, values] = await session.translateBrowsePath([makeBrowsePath(dataType, ".EnumStrings"), makeBrowsePath(dataType, ".EnumValues")]);
  const target = (r: typeof strings) => (r?.statusCode.isGood() ? r.targets?.[0]?.targetId : undefined);
  const stringsId = target(strings);
  if (stringsId) {
    const v = await session.read({ nodeId: stringsId, attributeId: AttributeIds.Value });
    if (v.statusCode.isGood() && Array.isArray(v.value.value)) return (v.value.value as { text?: string | null }[]).map((t) => t.text ?? "");
  }
  const valuesId = target(values);
  if (valuesId) {
    const v = await session.read({ nodeId: valuesId, attributeId: AttributeIds.Value });
    if (v.statusCode.isGood() && Array.isArray(v.value.value)) {
      const labels: string[] = [];
      for (const e of v.value.value as { value: number | [number, number]; displayName?: { text?: string | null } }[]) {
        const n = Array.isArray(e.value) ? e.value[1] : e.value;
        labels[n] = e.displayName?.text ?? String(n);
      }
      return labels;
    }
  }
  return undefined;
}
