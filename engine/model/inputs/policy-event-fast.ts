import {
  anything,
  boolean,
  FAIL,
  type Field,
  oneOf,
  optionalBoolean,
  optionalFreeObject,
  optionalText,
  readerOf,
  readStats,
  requiredText,
  type Shape,
  sawText,
  text,
} from './fast-reader.ts';
import { POLICY_EVENT_ALIASES, type PolicyEvent } from './policy-event.ts';

/**
 * The common PolicyEvent shape for the hot path (see fast-reader.ts): exactly what PolicyEventSchema followed
 * by DATA_SCHEMAS[type] would return, or undefined as soon as anything is unusual (an unknown data type, a
 * base64 payload, a number timestamp, a snake_case alias, an object that is not plain, a value of the wrong
 * type), in which case the caller runs the zod schemas, which remain the definition and report the errors.
 * policy-event-fast.test.ts compares the two on the upstream fixtures and on generated records.
 */
/** Present and not null: left to zod (base64 checks are rare enough not to repeat here). */
const absent: Field = (value) => (value === undefined || value === null ? value : FAIL);
const SHA256_REF = /^sha256:[0-9a-fA-F]{64}$/;
const optionalSha256: Field = (value) =>
  value === undefined || value === null || (typeof value === 'string' && SHA256_REF.test(value))
    ? value
    : FAIL;
const optionalOperation = oneOf([undefined, null, 'read', 'write']);
const decisionStatus = oneOf(['allow', 'warn', 'deny']);
const port: Field = (value) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535 ? value : FAIL;

/** z.array(z.string()).nullish(): zod outputs a new array. */
const optionalTextArray: Field = (value) => {
  if (value === undefined || value === null) return value;
  if (!Array.isArray(value)) return FAIL;
  for (const item of value) if (typeof item !== 'string') return FAIL;
  readStats.fields += value.length;
  for (const item of value) sawText(item);
  return [...value];
};

/** A snake_case alias is for resolveAliases to rename first, so a record carrying one is deferred. */
const isAlias = (key: string) => Object.hasOwn(POLICY_EVENT_ALIASES, key);

function objectField(shape: Shape, loose: boolean, optional: boolean): Field {
  return readerOf(shape, { loose, optional, refuse: isAlias });
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
  if (typeof value !== 'object' || value === null) return FAIL;
  const type = (value as Record<string, unknown>).type;
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
const policyEvent = objectField(POLICY_EVENT_SHAPE, true, false);

/**
 * What PolicyEventSchema.parse, then DATA_SCHEMAS[data.type].parse on its data, would return for `record`;
 * undefined when the record is not of the common shape this reads. A record carrying a snake_case alias
 * where parseRecord renames them (top level, data, metadata) is deferred too, so a raw record can be given
 * as it is: when this answers, renaming would have changed nothing.
 */
export function readCommonPolicyEvent(record: Record<string, unknown>): PolicyEvent | undefined {
  const result = policyEvent(record);
  return result === FAIL ? undefined : (result as PolicyEvent);
}
