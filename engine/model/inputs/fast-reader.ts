import { capturedName, generate } from '../../generate.ts';

/**
 * Hand-written readings of the zod input schemas most records use, for the hot path: zod's generic object walk
 * was most of parseRecord's time. A reader returns exactly what its schema's parse would (same keys, same key
 * order, same values) or FAIL as soon as anything is unusual, and the caller then runs the zod schema, which
 * stays the definition and reports the errors. Each format's tests compare the two (policy-event-fast.test.ts,
 * hushd-fast.test.ts).
 *
 * Each field reader returns the value zod would output for it, or FAIL. Like zod, an object's output holds
 * its declared keys in declaration order (a key that is absent stays absent; one present as undefined is
 * kept), then, for loose objects, the undeclared keys in input order with their values as they are.
 */
export const FAIL = Symbol('fail');
export type Field = (value: unknown) => unknown;
/** Declared keys in the schema's order. */
export type Shape = ReadonlyArray<readonly [string, Field]>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

const isAbsent = (value: unknown) => value === undefined || value === null;

/**
 * What the readers saw of the record read last (reset by resetReadStats): its strings' total and longest
 * length, how many keys and items, and whether any value they copied as it is holds an object or array. From
 * these the record limits (model/bounds.ts) can tell a record within them without walking it a second time.
 */
export const readStats = { chars: 0, longest: 0, fields: 0, nested: false };

export function resetReadStats(): void {
  readStats.chars = 0;
  readStats.longest = 0;
  readStats.fields = 0;
  readStats.nested = false;
}

export function sawText(text: string): void {
  readStats.chars += text.length;
  if (text.length > readStats.longest) readStats.longest = text.length;
}

/** A value copied as it is (undeclared keys, z.unknown fields): its own strings are counted, its insides not. */
function sawValue(value: unknown): void {
  if (typeof value === 'string') sawText(value);
  else if (typeof value === 'object' && value !== null) readStats.nested = true;
  else if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
    readStats.nested = true;
  }
}

/** z.string().min(1) */
export const requiredText: Field = (value) => {
  if (typeof value !== 'string' || value.length === 0) return FAIL;
  sawText(value);
  return value;
};
/** z.string() */
export const text: Field = (value) => {
  if (typeof value !== 'string') return FAIL;
  sawText(value);
  return value;
};
/** z.string().nullish() */
export const optionalText: Field = (value) => {
  if (typeof value === 'string') sawText(value);
  else if (!isAbsent(value)) return FAIL;
  return value;
};
/** z.boolean().nullish() */
export const optionalBoolean: Field = (value) =>
  isAbsent(value) || typeof value === 'boolean' ? value : FAIL;
/** z.boolean() */
export const boolean: Field = (value) => (typeof value === 'boolean' ? value : FAIL);
/** z.unknown() */
export const anything: Field = (value) => {
  sawValue(value);
  return value;
};
/** z.enum / z.literal: one of the values given (undefined and null included when the schema is nullish). */
export function oneOf(values: readonly unknown[]): Field {
  return (value) => (values.includes(value) ? value : FAIL);
}

/** z.record(z.string(), z.unknown()).nullish(): a new object with the same entries. */
export const optionalFreeObject: Field = (value) => {
  if (isAbsent(value)) return value;
  if (!isPlainObject(value)) return FAIL;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    // Assigning __proto__ would change the output's prototype; zod handles it, so let it.
    if (key === '__proto__') return FAIL;
    readStats.fields++;
    sawText(key);
    sawValue(value[key]);
    out[key] = value[key];
  }
  return out;
};

/**
 * Reads the declared keys of `value` into `out` in declaration order; returns how many were present (not
 * undefined), or -1 when a field fails.
 */
type DeclaredReader = (value: Record<string, unknown>, out: Record<string, unknown>) => number;

/**
 * One function per shape, generated (see engine/generate.ts) with each key as a literal, so every property read
 * and write has its own inline cache and the output objects share one hidden class; a loop over the keys made
 * each access megamorphic (about half of parseRecord's time). The keys are the schema's own constants.
 */
function compileDeclared(shape: Shape): DeclaredReader {
  // f0 is FAIL; the field readers follow.
  const lines = shape.map(([key], i) => {
    const literal = JSON.stringify(key);
    return (
      `given = value[${literal}]; result = ${capturedName(i + 1)}(given); if (result === f0) return -1;` +
      ` if (given !== undefined) present++; if (result !== undefined || ${literal} in value) out[${literal}] = result;`
    );
  });
  return generate<DeclaredReader>(
    `(value, out) => { let present = 0, given, result;\n${lines.join('\n')}\nreturn present; }`,
    [FAIL, ...shape.map(([, field]) => field)],
  );
}

export interface ObjectOptions {
  /** z.looseObject: undeclared keys are kept (a strip object drops them). */
  loose: boolean;
  /** .nullish(): undefined and null pass as they are. */
  optional: boolean;
  /** Undeclared keys that make the reader defer to zod (e.g. aliases a later step would rename). */
  refuse?: (key: string) => boolean;
}

/** Object.keys(value).length for a plain object, without making the array of keys. */
function keyCount(value: Record<string, unknown>): number {
  let count = 0;
  for (const _ in value) count++;
  return count;
}

/** The reader of an object schema with `shape`. */
export function readerOf(shape: Shape, options: ObjectOptions): Field {
  const readDeclared = compileDeclared(shape);
  const declared = new Set(shape.map(([key]) => key));
  const { loose, optional, refuse } = options;
  return (value) => {
    if (optional && isAbsent(value)) return value;
    if (!isPlainObject(value)) return FAIL;
    const out: Record<string, unknown> = {};
    const present = readDeclared(value, out);
    if (present < 0) return FAIL;
    readStats.fields += present;
    // Undeclared keys follow in input order, found with for...in as zod's catchall walks them (own keys
    // only here, the prototype being Object.prototype); skipped when every key of the input was declared.
    if (!loose || present === keyCount(value)) return out;
    for (const key in value) {
      if (declared.has(key)) continue;
      // __proto__ would replace out's prototype.
      if (key === '__proto__' || refuse?.(key)) return FAIL;
      readStats.fields++;
      sawText(key);
      sawValue(value[key]);
      out[key] = value[key];
    }
    return out;
  };
}
