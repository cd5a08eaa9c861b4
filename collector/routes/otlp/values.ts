/** A JSON value: what an OTLP AnyValue holds once its encoding is taken off. */
export type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

/** An AnyValue that is not one: where in the record, and why. */
export class ValueError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const INTEGER = /^-?\d{1,30}$/;

/**
 * An AnyValue (OTLP/JSON mapping, or a decoded protobuf one) as a plain value: a kvlist becomes an object,
 * an array an array, an int64 a number when it is exact as one (else its decimal string), bytes their
 * base64. An empty AnyValue is null. Throws ValueError naming the field. The caller bounds the depth
 * (readJson for JSON, measure() for protobuf).
 */
export function plainValue(value: unknown, field: string): Plain {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValueError(field, 'expected an AnyValue object');
  }
  const any = value as Record<string, unknown>;
  if (any.stringValue !== undefined) return typed(any.stringValue, 'string', `${field}.stringValue`);
  if (any.boolValue !== undefined) return typed(any.boolValue, 'boolean', `${field}.boolValue`);
  if (any.intValue !== undefined) return integer(any.intValue, `${field}.intValue`);
  if (any.doubleValue !== undefined) return double(any.doubleValue, `${field}.doubleValue`);
  if (any.bytesValue !== undefined) return typed(any.bytesValue, 'string', `${field}.bytesValue`);
  if (any.arrayValue !== undefined) {
    const values = listOf(any.arrayValue, `${field}.arrayValue`);
    return values.map((item, index) => plainValue(item, `${field}.arrayValue.values.${index}`));
  }
  if (any.kvlistValue !== undefined) return plainMap(listOf(any.kvlistValue, `${field}.kvlistValue`), field);
  return null;
}

/** A list of KeyValues as an object; later keys win, and `__proto__` stays an own key. */
export function plainMap(values: readonly unknown[], field: string): { [key: string]: Plain } {
  const entries: [string, Plain][] = [];
  for (const [index, item] of values.entries()) {
    const at = `${field}.kvlistValue.values.${index}`;
    const { key, value } = (item ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== 'string') throw new ValueError(`${at}.key`, 'expected a string');
    entries.push([key, value === undefined || value === null ? null : plainValue(value, `${at}.value`)]);
  }
  return Object.fromEntries(entries);
}

function listOf(container: unknown, field: string): readonly unknown[] {
  const values = (container as { values?: unknown } | null)?.values;
  if (values === undefined) return [];
  if (!Array.isArray(values)) throw new ValueError(`${field}.values`, 'expected an array');
  return values;
}

function typed<T extends 'string' | 'boolean'>(value: unknown, type: T, field: string): Plain {
  if (typeof value !== type) throw new ValueError(field, `expected a ${type}`);
  return value as Plain;
}

function integer(value: unknown, field: string): number | string {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && INTEGER.test(value)) {
    const number = Number(value);
    return Number.isSafeInteger(number) ? number : value;
  }
  throw new ValueError(field, 'expected an integer (a decimal string)');
}

function double(value: unknown, field: string): number {
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) {
    throw new ValueError(field, 'expected a finite number');
  }
  return number;
}
