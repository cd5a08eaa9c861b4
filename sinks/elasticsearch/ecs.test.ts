import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SEVERITIES } from '../../core/severity.ts';
import { EVENT_TYPES, OUTCOMES } from '../../engine/model/index.ts';
import { makeAlert, makeEnvelope } from '../../test/support/sink-items.ts';
import { alertDocument, ECS_VERSION, eventDocument } from './documents.ts';
import {
  alertProperties,
  type ClusterFieldTypes,
  eventProperties,
  FALLBACK_FIELD_TYPES,
  fieldPaths,
} from './mappings.ts';

/*
 * Every field of the index templates against ECS's own definitions (testdata/ecs-fields.yml, the subset of
 * ecs_flat.yml they use), with ECS's types on a cluster that has them and the fallbacks on one that has not;
 * and every document's categorization against ECS's allowed values.
 */

interface EcsField {
  type: string;
  multi_fields?: Record<string, string>;
  allowed_values?: string[];
  expected_event_types?: Record<string, string[]>;
}
const ECS = parse(readFileSync(new URL('./testdata/ecs-fields.yml', import.meta.url), 'utf8')) as {
  ecs_version: string;
  fields: Record<string, EcsField>;
};

/** What a field of each ECS type may be mapped as on a cluster without it. */
const FALLBACK_OF: Readonly<Record<string, string>> = { wildcard: 'keyword', match_only_text: 'text' };
/** Multi-fields of ours that ECS does not define (ECS allows adding multi-fields). */
const OWN_MULTI_FIELDS = new Set(['rule.name.text']);
const FULL_TYPES: ClusterFieldTypes = { wildcard: true, matchOnlyText: true };

/** The ECS type each templated ECS path must have: a field's own, or its multi-field's. */
function ecsTypeOf(path: string): string | undefined {
  const field = ECS.fields[path];
  if (field) return field.type;
  const dot = path.lastIndexOf('.');
  return ECS.fields[path.slice(0, dot)]?.multi_fields?.[path.slice(dot + 1)];
}

/** Template paths outside ECS: ours under clawdstrike.*, and query-time aliases. */
function ecsPaths(types: ClusterFieldTypes): Array<[string, string]> {
  const paths = { ...fieldPaths(eventProperties(types)), ...fieldPaths(alertProperties(types)) };
  return Object.entries(paths).filter(
    ([path, type]) => !path.startsWith('clawdstrike.') && type !== 'alias' && !OWN_MULTI_FIELDS.has(path),
  );
}

describe('index templates against ECS field definitions', () => {
  it('the subset is the ECS version the documents declare', () => {
    expect(ECS.ecs_version).toBe(ECS_VERSION);
  });

  it('map every ECS field with its ECS type where the cluster has it', () => {
    const mismatched = ecsPaths(FULL_TYPES).filter(([path, type]) => ecsTypeOf(path) !== type);
    expect(mismatched).toEqual([]);
  });

  it('fall back to keyword and text, and only for the types the cluster lacks', () => {
    for (const types of [FALLBACK_FIELD_TYPES, { wildcard: true, matchOnlyText: false }]) {
      const mismatched = ecsPaths(types).filter(([path, type]) => {
        const ecs = ecsTypeOf(path);
        if (ecs === type) return false;
        const lacking =
          ecs === 'wildcard' ? !types.wildcard : ecs === 'match_only_text' && !types.matchOnlyText;
        return !(lacking && FALLBACK_OF[ecs!] === type);
      });
      expect(mismatched).toEqual([]);
    }
  });
});

describe('documents against ECS allowed values', () => {
  const allowed = (field: string) => new Set(ECS.fields[field]!.allowed_values);
  const expectedTypes = ECS.fields['event.category']!.expected_event_types!;

  function checkCategorization(event: {
    kind: string;
    category: string[];
    type: string[];
    outcome?: string;
  }): string[] {
    const problems: string[] = [];
    if (!allowed('event.kind').has(event.kind)) problems.push(`kind ${event.kind}`);
    if (event.category.length === 0) problems.push('no category');
    for (const category of event.category)
      if (!allowed('event.category').has(category)) problems.push(`category ${category}`);
    for (const type of event.type) {
      if (!allowed('event.type').has(type)) problems.push(`type ${type}`);
      // Each type must be one its categories expect.
      if (!event.category.some((category) => expectedTypes[category]?.includes(type)))
        problems.push(`type ${type} not expected for ${event.category.join(', ')}`);
    }
    if (event.outcome !== undefined && !allowed('event.outcome').has(event.outcome))
      problems.push(`outcome ${event.outcome}`);
    return problems;
  }

  it.each(EVENT_TYPES.flatMap((eventType) => OUTCOMES.map((outcome) => [eventType, outcome] as const)))(
    'a %s event with outcome %s is categorized with ECS values',
    (eventType, outcome) => {
      const document = eventDocument(
        makeEnvelope({ eventType, decision: { outcome, severity: outcome === 'allow' ? 'info' : 'high' } }),
      );
      expect(checkCategorization(document.event as Parameters<typeof checkCategorization>[0])).toEqual([]);
    },
  );

  it.each(SEVERITIES)('a %s alert is categorized with ECS values', (severity) => {
    const document = alertDocument(makeAlert({ severity }), '2026-03-14T09:27:00.000Z');
    expect(checkCategorization(document.event as Parameters<typeof checkCategorization>[0])).toEqual([]);
  });
});
