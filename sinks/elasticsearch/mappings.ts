/**
 * ECS-shaped mappings for the events and alerts indices. Field choice, in short (docs/sinks.md has the table):
 * - keyword for what analysts filter and aggregate on; `ignore_above` keeps huge values out of the index
 *   (they stay in _source);
 * - keyword plus a `.text` multi-field where analysts also search words (paths, command lines, URLs, targets);
 * - text alone for prose (message, decision reasons);
 * - flattened for free-form objects (event data, metadata, enrichment): searchable, one field each, no
 *   mapping explosion; leaves longer than FLATTENED_IGNORE_ABOVE characters stay in _source unindexed;
 * - `dynamic: false` at the root: unknown fields stay in _source but are never mapped.
 * ECS types `wildcard` (command lines, URLs) and `match_only_text` (message, `.text` multi-fields) where the
 * cluster has them (ClusterFieldTypes, asked at template install); keyword and text where it has not, as in
 * the integ-test distribution the tests run against.
 */

export type FieldMapping =
  | { type: 'keyword'; ignore_above?: number; fields?: Record<string, FieldMapping> }
  | { type: 'wildcard'; ignore_above?: number; fields?: Record<string, FieldMapping> }
  | { type: 'text'; norms?: boolean; fields?: Record<string, FieldMapping> }
  | { type: 'match_only_text' }
  | { type: 'date' | 'long' | 'float' | 'ip' }
  | { type: 'flattened'; ignore_above: number }
  | { type: 'alias'; path: string }
  | { properties: Record<string, FieldMapping> };

/** Which of ECS's field types the cluster can map (a plugin or module the integ-test build lacks). */
export interface ClusterFieldTypes {
  wildcard: boolean;
  matchOnlyText: boolean;
}

/** What the templates fall back to when the cluster was not asked (and TEMPLATE_FIELDS describes). */
export const FALLBACK_FIELD_TYPES: ClusterFieldTypes = { wildcard: false, matchOnlyText: false };

const keyword = (): FieldMapping => ({ type: 'keyword', ignore_above: 1024 });
/** Prose: ECS match_only_text (no scoring, positions or norms), else text without norms. */
const prose = (types: ClusterFieldTypes): FieldMapping =>
  types.matchOnlyText ? { type: 'match_only_text' } : { type: 'text', norms: false };
/** A value filtered on whole and searched by word: ECS keyword with a `.text` multi-field (file.path). */
const keywordWithText = (types: ClusterFieldTypes): FieldMapping => ({
  type: 'keyword',
  ignore_above: 8191,
  fields: { text: prose(types) },
});
/**
 * A long value searched by substring: ECS wildcard with a `.text` multi-field (process.command_line, url.full),
 * else keyword (values over ignore_above stay in _source only) with the same multi-field.
 */
const wildcardWithText = (types: ClusterFieldTypes): FieldMapping =>
  types.wildcard
    ? { type: 'wildcard', ignore_above: 8191, fields: { text: prose(types) } }
    : keywordWithText(types);
const text = (): FieldMapping => ({ type: 'text', norms: false });
const date = (): FieldMapping => ({ type: 'date' });
const long = (): FieldMapping => ({ type: 'long' });
/**
 * A flattened leaf is indexed as one term "<key path>\0<value>", which Lucene caps at 32766 bytes: values up
 * to this many characters (4 bytes each at most) plus a key path bounded by documents.maxDepth x
 * maxKeyBytes (sinks/elasticsearch/conform.ts) stay under it; longer values are kept in _source only.
 */
export const FLATTENED_IGNORE_ABOVE = 4096;
const flattened = (): FieldMapping => ({ type: 'flattened', ignore_above: FLATTENED_IGNORE_ABOVE });
const object = (properties: Record<string, FieldMapping>): FieldMapping => ({ properties });

/** ECS gen_ai.*: what Elastic's AI views read for agents and their tools. */
const genAi = () =>
  object({
    agent: object({ id: keyword() }),
    operation: object({ name: keyword() }),
    tool: object({ name: keyword(), type: keyword(), call: object({ id: keyword() }) }),
  });

const common = (types: ClusterFieldTypes) =>
  ({
    '@timestamp': date(),
    message: prose(types),
    tags: keyword(),
    ecs: object({ version: keyword() }),
    event: object({
      kind: keyword(),
      id: keyword(),
      dataset: keyword(),
      module: keyword(),
      provider: keyword(),
      category: keyword(),
      type: keyword(),
      action: keyword(),
      outcome: keyword(),
      severity: long(),
      risk_score: { type: 'float' },
      created: date(),
      ingested: date(),
    }),
    agent: object({ id: keyword() }),
    // ECS defines no session field set: the value lives under clawdstrike.session.id and `session.id` is a
    // query-time alias, so both names work in KQL, aggregations and dashboards without storing it twice.
    session: object({ id: { type: 'alias', path: 'clawdstrike.session.id' } }),
    threat: object({ technique: object({ id: keyword() }), tactic: object({ id: keyword() }) }),
    gen_ai: genAi(),
  }) satisfies Record<string, FieldMapping>;

const commonClawdstrike = {
  schema_version: long(),
  severity: keyword(),
  session: object({ id: keyword() }),
  // Paths whose value was changed to fit the index (a too-deep subtree kept as JSON text, a mistyped value
  // dropped): hostile shapes are searchable facts instead of rejected documents.
  adjusted_fields: keyword(),
} satisfies Record<string, FieldMapping>;

export function eventProperties(types: ClusterFieldTypes): Record<string, FieldMapping> {
  return {
    ...common(types),
    file: object({ path: keywordWithText(types), hash: object({ sha256: keyword() }) }),
    destination: object({ domain: keyword(), ip: { type: 'ip' }, port: long(), address: keyword() }),
    network: object({ protocol: keyword(), transport: keyword() }),
    url: object({ full: wildcardWithText(types) }),
    process: object({
      command_line: wildcardWithText(types),
      args: keyword(),
      working_directory: keyword(),
    }),
    clawdstrike: object({
      ...commonClawdstrike,
      event_type: keyword(),
      original_type: keyword(),
      target: keywordWithText(types),
      run_id: keyword(),
      trace_id: keyword(),
      policy_hash: keyword(),
      source: object({ format: keyword(), kind: keyword(), emitter: keyword() }),
      decision: object({
        outcome: keyword(),
        guard: keyword(),
        severity: keyword(),
        message: text(),
        reason: text(),
      }),
      tool: object({ name: keyword(), kind: keyword(), provider: keyword() }),
      secret: object({ name: keyword(), scope: keyword() }),
      data: flattened(),
      metadata: flattened(),
    }),
  };
}

export function alertProperties(types: ClusterFieldTypes): Record<string, FieldMapping> {
  return {
    ...common(types),
    rule: object({ id: keyword(), name: keywordWithText(types), ruleset: keyword() }),
    clawdstrike: object({
      ...commonClawdstrike,
      risk_score: { type: 'alias', path: 'event.risk_score' },
      alert: object({
        summary: prose(types),
        rule_type: keyword(),
        group_key: keyword(),
        event_ids: keyword(),
        event_count: long(),
        actions: keyword(),
      }),
      enrichment: flattened(),
      /** The alert's Clawdstrike policy overlay: its hosts, tools and patterns searchable as keywords. */
      response: object({ policy_suggestion: flattened() }),
    }),
  };
}

/** The mappings documents are conformed to: string types all take strings alike, so one set serves. */
export const EVENT_PROPERTIES = eventProperties(FALLBACK_FIELD_TYPES);
export const ALERT_PROPERTIES = alertProperties(FALLBACK_FIELD_TYPES);

/** Every queryable field path with its type, multi-fields (`file.path.text`) and aliases included. */
export function fieldPaths(properties: Record<string, FieldMapping>, prefix = ''): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const [name, mapping] of Object.entries(properties)) {
    const path = `${prefix}${name}`;
    if ('properties' in mapping) {
      Object.assign(paths, fieldPaths(mapping.properties, `${path}.`));
      continue;
    }
    paths[path] = mapping.type;
    if ('fields' in mapping && mapping.fields) Object.assign(paths, fieldPaths(mapping.fields, `${path}.`));
  }
  return paths;
}
