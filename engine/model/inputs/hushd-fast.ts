import {
  boolean,
  FAIL,
  type Field,
  oneOf,
  optionalFreeObject,
  optionalText,
  readerOf,
  requiredText,
  type Shape,
  text,
} from './fast-reader.ts';
import type { AuditEvent } from './hushd-audit.ts';
import type { SecurityEvent } from './hushd-security.ts';

/**
 * The hushd AuditEvent and SecurityEvent schemas for the hot path (see fast-reader.ts): exactly what
 * AuditEventSchema / SecurityEventSchema would return, or undefined when anything is unusual (a number
 * timestamp among them), in which case the caller runs the zod schema. hushd-fast.test.ts compares the two.
 */

const loose = (shape: Shape, optional = false): Field => readerOf(shape, { loose: true, optional });
/** TimestampInputSchema accepts epoch numbers too; zod judges those (NaN and infinities are refused there). */
const timestampText = requiredText;
/** z.int().min(0).max(65535).nullish() */
const optionalPort: Field = (value) =>
  value === undefined ||
  value === null ||
  (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535)
    ? value
    : FAIL;

const readAudit = loose([
  ['id', requiredText],
  ['timestamp', timestampText],
  ['event_type', requiredText],
  ['action_type', optionalText],
  ['target', optionalText],
  ['decision', oneOf(['allowed', 'blocked'])],
  ['guard', optionalText],
  ['severity', optionalText],
  ['message', optionalText],
  ['session_id', optionalText],
  ['agent_id', optionalText],
  ['metadata', optionalFreeObject],
]);

const readSecurity = loose([
  ['schema_version', oneOf(['1.0.0'])],
  ['event_id', requiredText],
  ['event_type', requiredText],
  ['event_category', optionalText],
  ['timestamp', timestampText],
  ['ingested_at', optionalText],
  [
    'agent',
    loose([
      ['id', requiredText],
      ['name', optionalText],
      ['version', optionalText],
      ['type', optionalText],
    ]),
  ],
  [
    'session',
    loose([
      ['id', requiredText],
      ['user_id', optionalText],
      ['tenant_id', optionalText],
      ['environment', optionalText],
    ]),
  ],
  ['outcome', oneOf(['success', 'failure', 'unknown'])],
  ['action', requiredText],
  [
    'threat',
    loose(
      [
        [
          'indicator',
          loose(
            [
              ['type', text],
              ['value', text],
            ],
            true,
          ),
        ],
        ['tactic', optionalText],
        ['technique', optionalText],
      ],
      true,
    ),
  ],
  [
    'decision',
    loose([
      ['allowed', boolean],
      ['guard', optionalText],
      ['severity', optionalText],
      ['reason', optionalText],
      ['policy_hash', optionalText],
      ['ruleset', optionalText],
    ]),
  ],
  [
    'resource',
    loose([
      ['type', requiredText],
      ['name', text],
      ['path', optionalText],
      ['host', optionalText],
      ['port', optionalPort],
    ]),
  ],
  ['metadata', optionalFreeObject],
  ['labels', optionalFreeObject],
]);

/** What AuditEventSchema.parse would return for `record`, or undefined when it is not of the common shape. */
export function readCommonAuditEvent(record: Record<string, unknown>): AuditEvent | undefined {
  const result = readAudit(record);
  return result === FAIL ? undefined : (result as AuditEvent);
}

/** What SecurityEventSchema.parse would return for `record`, or undefined when it is not of the common shape. */
export function readCommonSecurityEvent(record: Record<string, unknown>): SecurityEvent | undefined {
  const result = readSecurity(record);
  return result === FAIL ? undefined : (result as SecurityEvent);
}
