/**
 * Protocol-buffer text format, written from plain data: what Triton reads as config.pbtxt. A value
 * is a number, a string (quoted), an enum (bare identifier), a message (an object: `name { … }`)
 * or a repeated field (an array: one entry per element, messages as `name [ {…}, {…} ]`).
 */
export type PbValue = number | string | PbEnum | PbMessage | readonly PbValue[];
export interface PbMessage {
  readonly [field: string]: PbValue | undefined;
}
/** An enum value, written bare (`KIND_CPU`), never quoted. */
export class PbEnum {
  constructor(readonly name: string) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`pbtxt: ${JSON.stringify(name)} is not an enum identifier`);
  }
}

function scalar(v: number | string | PbEnum): string {
  if (v instanceof PbEnum) return v.name;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`pbtxt: non-finite number ${v}`);
    return String(v);
  }
  return JSON.stringify(v); // a JSON string is a valid text-format string (\" \\ \n \uXXXX escapes)
}

const isMessage = (v: PbValue): v is PbMessage => typeof v === 'object' && !(v instanceof PbEnum) && !Array.isArray(v);

export function toPbtxt(m: PbMessage, indent = ''): string {
  const lines: string[] = [];
  const inner = `${indent}  `;
  for (const [field, v] of Object.entries(m)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      if (v.length === 0) continue;
      if (v.every((x) => isMessage(x))) {
        const items = v.map((x) => `${inner}{\n${toPbtxt(x as PbMessage, `${inner}  `)}${inner}}`);
        lines.push(`${indent}${field} [\n${items.join(',\n')}\n${indent}]`);
      } else lines.push(`${indent}${field}: [ ${v.map((x) => scalar(x as number | string | PbEnum)).join(', ')} ]`);
    } else if (isMessage(v as PbValue)) lines.push(`${indent}${field} {\n${toPbtxt(v as PbMessage, inner)}${indent}}`);
    else lines.push(`${indent}${field}: ${scalar(v as number | string | PbEnum)}`);
  }
  return lines.map((l) => `${l}\n`).join('');
}
