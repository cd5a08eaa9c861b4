import { POLICY_EVENT_ALIASES, type PolicyEvent } from './policy-event.ts';

/**
 * A hand-written reading of the common PolicyEvent shape, for the hot path: zod's generic object walk was
 * about half of parseRecord's time. It returns exactly what PolicyEventSchema followed by DATA_SCHEMAS[type]
 * would return (same keys, same key order, same values), or undefined as soon as anything is unusual
 * (an unknown data type, a base64 payload, a number timestamp, a snake_case alias, an object that is not
 * plain, a value of the wrong type),
 * in which case the caller runs the zod schemas, which remain the definition and report the errors.
 * policy-event-fast.test.ts compares the two on the upstream fixtures and on generated records.
 *
 * Each field reader returns the value zod would output for it, or FAIL. Like zod, an object's output holds
 * its declared keys in declaration order (a key that is absent stays absent; one present as undefined is
 * kept), then, for loose objects, the undeclared keys in input order with their values as they are.
 */
const FAIL = Symbol('fail');
type Field = (value: unknown) => unknown;
/** Declared keys in the schema's order. */
type Shape = ReadonlyArray<readonly [string, Field]>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

const requiredText: Field = (value) => (typeof value === 'string' && value.length > 0 ? value : FAIL);
const text: Field = (value) => (typeof value === 'string' ? value : FAIL);
const optionalText: Field = (value) =>
  value === undefined || value === null || typeof value === 'string' ? value : FAIL;
const optionalBoolean: Field = (value) =>
  value === undefined || value === null || typeof value === 'boolean' ? value : FAIL;
const boolean: Field = (value) => (typeof value === 'boolean' ? value : FAIL);
const anything: Field = (value) => value;
/** Present and not null: left to zod (base64 checks are rare enough not to repeat here). */
const absent: Field = (value) => (value === undefined || value === null ? value : FAIL);
const SHA256_REF = /^sha256:[0-9a-fA-F]{64}$/;
const optionalSha256: Field = (value) =>
  value === undefined || value === null || (typeof value === 'string' && SHA256_REF.test(value))
    ? value
    : FAIL;
const optionalOperation: Field = (value) =>
  value === undefined || value === null || value === 'read' || value === 'write' ? value : FAIL;
const decisionStatus: Field = (value) =>
  value === 'allow' || value === 'warn' || value === 'deny' ? value : FAIL;
const port: Field = (value) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535 ? value : FAIL;

/** z.array(z.string()).nullish(): zod outputs a new array. */
const optionalTextArray: Field = (value) => {
  if (value === undefined || value === null) return value;
  if (!Array.isArray(value)) return FAIL;
  for (const item of value) if (typeof item !== 'string') return FAIL;
  return [...value];
};

/** z.record(z.string(), z.unknown()): a new object with the same entries. */
function freeObject(value: unknown): unknown {
  if (!isPlainObject(value)) return FAIL;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    // Assigning __proto__ would change the output's prototype; zod handles it, so let it.
    if (key === '__proto__') return FAIL;
    out[key] = value[key];
  }
  return out;
}
const optionalFreeObject: Field = (value) =>
  value === undefined || value === null ? value : freeObject(value);

/**
 * Reads the declared keys of `value` into `out` in declaration order; returns how many were present (not
 * undefined), or -1 when a field fails.
 */
type DeclaredReader = (value: Record<string, unknown>, out: Record<string, unknown>) => number;

interface ObjectReader {
  readDeclared: DeclaredReader;
  declared: ReadonlySet<string>;
  loose: boolean;
}

/**
 * One function per shape, generated with each key as a literal, so every property read and write has its own
 * inline cache and the output objects share one hidden class; a loop over the keys made each access
 * megamorphic (about half of parseRecord's time). The keys are the schema's own constants, never input.
 */
function compileDeclared(shape: Shape): DeclaredReader {
  const lines = shape.map(([key], i) => {
    const literal = JSON.stringify(key);
    return (
      `given = value[${literal}]; result = fields[${i}](given); if (result === FAIL) return -1;` +
      ` if (given !== undefined) present++; if (result !== undefined || ${literal} in value) out[${literal}] = result;`
    );
  });
  const body = `return (value, out) => { let present = 0, given, result;\n${lines.join('\n')}\nreturn present; };`;
  return new Function('fields', 'FAIL', body)(
    shape.map(([, field]) => field),
    FAIL,
  ) as DeclaredReader;
}

function readObject(value: unknown, reader: ObjectReader): unknown {
  if (!isPlainObject(value)) return FAIL;
  const out: Record<string, unknown> = {};
  const present = reader.readDeclared(value, out);
  if (present < 0) return FAIL;
  // Undeclared keys follow in input order, found with for...in as zod's catchall walks them (own keys
  // only here, the prototype being Object.prototype); skipped when every key of the input was declared.
  // A strip object (not loose) drops them.
  if (!reader.loose || present === Object.keys(value).length) return out;
  for (const key in value) {
    if (reader.declared.has(key)) continue;
    // A snake_case alias is for resolveAliases to rename first; __proto__ would replace out's prototype.
    if (key === '__proto__' || Object.hasOwn(POLICY_EVENT_ALIASES, key)) return FAIL;
    out[key] = value[key];
  }
  return out;
}

function shapeReader(shape: Shape, loose: boolean): ObjectReader {
  return { readDeclared: compileDeclared(shape), declared: new Set(shape.map(([key]) => key)), loose };
}

function objectField(shape: Shape, loose: boolean, optional: boolean): Field {
  const reader = shapeReader(shape, loose);
  return (value) => (optional && (value === undefined || value === null) ? value : readObject(value, reader));
}

const DECISION_FIELDS: Shape = [
  ['guard', optionalText],
  ['severity', optionalText],
  ['message', optionalText],
  ['reason', optionalText],
];
const booleanDecision = objectField(
  [['allowed', boolean], ['denied', optionalBoolean], ['warn', optionalBoolean], ...DECISION_FIELDS],
  false,
  false,
);
const statusDecision = objectField(
  [['status', decisionStatus], ['details', anything], ...DECISION_FIELDS],
  false,
  false,
);
/**
 * DecisionInputSchema: a union, whose first branch that accepts gives the output. On a plain object each
 * reader fails exactly when its zod branch does (both are strip objects), so trying them in order is the
 * union; on any other object both fail and the whole record is deferred.
 */
const optionalDecision: Field = (value) => {
  if (value === undefined || value === null) return value;
  const result = booleanDecision(value);
  return result === FAIL ? statusDecision(value) : result;
};

const optionalMetadata = objectField(
  [
    ['source', optionalText],
    ['agentId', optionalText],
    ['traceId', optionalText],
    ['toolKind', optionalText],
    ['toolProvider', optionalText],
    ['trust', optionalText],
  ],
  true,
  true,
);

/** DATA_SCHEMAS, as field readers; data.type is checked by the table lookup. */
const DATA_READERS: Readonly<Record<string, Field>> = {
  file: objectField(
    [
      ['type', text],
      ['path', requiredText],
      ['operation', optionalOperation],
      ['content', optionalText],
      ['contentBase64', absent],
      ['contentHash', optionalSha256],
    ],
    true,
    false,
  ),
  network: objectField(
    [
      ['type', text],
      ['host', requiredText],
      ['port', port],
      ['protocol', optionalText],
      ['url', optionalText],
    ],
    true,
    false,
  ),
  command: objectField(
    [
      ['type', text],
      ['command', requiredText],
      ['args', optionalTextArray],
      ['workingDir', optionalText],
    ],
    true,
    false,
  ),
  patch: objectField(
    [
      ['type', text],
      ['filePath', requiredText],
      ['patchContent', text],
      ['patchHash', optionalSha256],
    ],
    true,
    false,
  ),
  tool: objectField(
    [
      ['type', text],
      ['toolName', requiredText],
      ['parameters', optionalFreeObject],
      ['result', anything],
    ],
    true,
    false,
  ),
  secret: objectField(
    [
      ['type', text],
      ['secretName', requiredText],
      ['scope', requiredText],
    ],
    true,
    false,
  ),
  custom: objectField(
    [
      ['type', text],
      ['customType', requiredText],
    ],
    true,
    false,
  ),
};

/**
 * Reads data through its type's reader. PolicyEventSchema first copies data as `{ type, ...rest }` and the
 * type's schema then copies that again in its own order; type leads both, so one copy gives the same result.
 */
const data: Field = (value) => {
  if (!isPlainObject(value)) return FAIL;
  const type = value.type;
  if (typeof type !== 'string' || !Object.hasOwn(DATA_READERS, type)) return FAIL;
  return DATA_READERS[type]!(value);
};

const POLICY_EVENT_SHAPE: Shape = [
  ['eventId', requiredText],
  ['eventType', requiredText],
  // Epoch numbers are rare and zod's number check has edge cases (NaN, infinities): strings only here.
  ['timestamp', requiredText],
  ['sessionId', optionalText],
  ['runId', optionalText],
  ['agentId', optionalText],
  ['data', data],
  ['metadata', optionalMetadata],
  ['context', optionalFreeObject],
  ['decision', optionalDecision],
  ['policyHash', optionalText],
];
const POLICY_EVENT_READER = shapeReader(POLICY_EVENT_SHAPE, true);

/**
 * What PolicyEventSchema.parse, then DATA_SCHEMAS[data.type].parse on its data, would return for `record`;
 * undefined when the record is not of the common shape this reads. A record carrying a snake_case alias
 * where parseRecord renames them (top level, data, metadata) is deferred too, so a raw record can be given
 * as it is: when this answers, renaming would have changed nothing.
 */
export function readCommonPolicyEvent(record: Record<string, unknown>): PolicyEvent | undefined {
  const result = readObject(record, POLICY_EVENT_READER);
  return result === FAIL ? undefined : (result as PolicyEvent);
}
