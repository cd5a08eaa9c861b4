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

/** z.string().min(1) */
export const requiredText: Field = (value) => (typeof value === 'string' && value.length > 0 ? value : FAIL);
/** z.string() */
export const text: Field = (value) => (typeof value === 'string' ? value : FAIL);
/** z.string().nullish() */
export const optionalText: Field = (value) => (isAbsent(value) || typeof value === 'string' ? value : FAIL);
/** z.boolean().nullish() */
export const optionalBoolean: Field = (value) =>
  isAbsent(value) || typeof value === 'boolean' ? value : FAIL;
/** z.boolean() */
export const boolean: Field = (value) => (typeof value === 'boolean' ? value : FAIL);
/** z.unknown() */
export const anything: Field = (value) => value;
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
    // Undeclared keys follow in input order, found with for...in as zod's catchall walks them (own keys
    // only here, the prototype being Object.prototype); skipped when every key of the input was declared.
    if (!loose || present === keyCount(value)) return out;
    for (const key in value) {
      if (declared.has(key)) continue;
      // __proto__ would replace out's prototype.
      if (key === '__proto__' || refuse?.(key)) return FAIL;
      out[key] = value[key];
    }
    return out;
  };
}
