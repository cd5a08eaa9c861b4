import type { Client, estypes } from '@elastic/elasticsearch';
import { errors } from '@elastic/elasticsearch';
import {
  ALERT_PROPERTIES,
  alertProperties,
  type ClusterFieldTypes,
  EVENT_PROPERTIES,
  eventProperties,
  FALLBACK_FIELD_TYPES,
  type FieldMapping,
  fieldPaths,
} from './mappings.ts';

/** Bumped whenever a mapping changes; stored as the template's `version`. */
export const TEMPLATE_VERSION = 4;

export const INDEX_KINDS = ['events', 'alerts'] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];

const PROPERTIES: Record<IndexKind, (types: ClusterFieldTypes) => Record<string, FieldMapping>> = {
  events: eventProperties,
  alerts: alertProperties,
};

/**
 * Every mapped field of each index kind, path → Elasticsearch type. Dashboards may only use these:
 * their test checks every field a visualization uses against this list.
 */
/** (With the fallback types; a cluster with ECS's own has the same paths, some typed wildcard or match_only_text.) */
export const TEMPLATE_FIELDS: Readonly<Record<IndexKind, Readonly<Record<string, string>>>> = {
  events: fieldPaths(EVENT_PROPERTIES),
  alerts: fieldPaths(ALERT_PROPERTIES),
};

export interface TemplateOptions {
  shards?: number;
  replicas?: number;
}

/** The composable index template for one kind: `<prefix>-<kind>-*`, plain daily indices. */
export function indexTemplate(
  prefix: string,
  kind: IndexKind,
  options: TemplateOptions = {},
  types: ClusterFieldTypes = FALLBACK_FIELD_TYPES,
): estypes.IndicesPutIndexTemplateRequest {
  return {
    name: `${prefix}-${kind}`,
    index_patterns: [`${prefix}-${kind}-*`],
    // Above the built-in templates (priority 100-ish) so a broad pattern elsewhere cannot shadow ours.
    priority: 200,
    version: TEMPLATE_VERSION,
    _meta: { managed_by: 'clawdstrike-edr', kind },
    template: {
      settings: {
        number_of_shards: options.shards ?? 1,
        number_of_replicas: options.replicas ?? 1,
      },
      mappings: {
        dynamic: false,
        date_detection: false,
        // FieldMapping is a strict subset of the client's MappingProperty union.
        properties: PROPERTIES[kind](types) as Record<string, estypes.MappingProperty>,
      },
    },
  };
}

/**
 * Asks the cluster whether it can map `type`: a simulated template with one such field. A cluster without the
 * type (the integ-test distribution has neither wildcard nor match_only_text) refuses it with 400.
 */
async function mapsType(client: Client, type: string): Promise<boolean> {
  try {
    await client.indices.simulateTemplate({
      index_patterns: ['clawdstrike-edr-field-type-probe-*'],
      template: { mappings: { properties: { probe: { type } as estypes.MappingProperty } } },
    });
    return true;
  } catch (error) {
    if (error instanceof errors.ResponseError && error.statusCode === 400) return false;
    throw error;
  }
}

export async function clusterFieldTypes(client: Client): Promise<ClusterFieldTypes> {
  const [wildcard, matchOnlyText] = await Promise.all([
    mapsType(client, 'wildcard'),
    mapsType(client, 'match_only_text'),
  ]);
  return { wildcard, matchOnlyText };
}

/**
 * Whether the cluster manages data streams: the data streams API answers (a name that does not exist is a
 * 404 from it). A build without the module (the integ-test distribution) has no handler for the path: 400.
 */
export async function clusterHasDataStreams(client: Client): Promise<boolean> {
  try {
    await client.indices.getDataStream({ name: 'clawdstrike-edr-data-stream-probe' });
    return true;
  } catch (error) {
    if (!(error instanceof errors.ResponseError)) throw error;
    if (error.statusCode === 404) return true;
    if (error.statusCode === 400 || error.statusCode === 405) return false;
    throw error;
  }
}

/**
 * The data stream alerts go to where the cluster has data streams: `logs-clawdstrike.alerts-<namespace>`,
 * under `logs-*`, which Elastic Security's External Alerts rule reads. The namespace is the index prefix
 * (data stream namespaces have no `-`, so those become `_`).
 */
export function alertsDataStream(prefix: string): string {
  return `logs-clawdstrike.alerts-${prefix.replaceAll('-', '_')}`;
}

/** The data stream's template: the alert mappings, over Elasticsearch's own `logs` template (priority 100). */
export function alertsDataStreamTemplate(
  prefix: string,
  options: TemplateOptions = {},
  types: ClusterFieldTypes = FALLBACK_FIELD_TYPES,
): estypes.IndicesPutIndexTemplateRequest {
  const template = indexTemplate(prefix, 'alerts', options, types);
  const name = alertsDataStream(prefix);
  return {
    ...template,
    name,
    index_patterns: [name],
    data_stream: {},
    _meta: { managed_by: 'clawdstrike-edr', kind: 'alerts', data_stream: true },
  };
}

export interface InstalledTemplates {
  names: string[];
  types: ClusterFieldTypes;
  /** Where alerts go: the data stream when the cluster has data streams, else undefined (daily indices). */
  alertsDataStream: string | undefined;
}

/**
 * Puts (creates or replaces) the templates, with ECS's field types where the cluster has them, and the
 * alerts data stream's where it has data streams; used at sink start and by `clawdstrike-edr setup`.
 */
export async function installTemplates(
  client: Client,
  prefix: string,
  options: TemplateOptions = {},
): Promise<InstalledTemplates> {
  const [types, dataStreams] = await Promise.all([clusterFieldTypes(client), clusterHasDataStreams(client)]);
  const templates = INDEX_KINDS.map((kind) => indexTemplate(prefix, kind, options, types));
  if (dataStreams) templates.push(alertsDataStreamTemplate(prefix, options, types));
  for (const template of templates) await client.indices.putIndexTemplate(template);
  return {
    names: templates.map((template) => template.name),
    types,
    alertsDataStream: dataStreams ? alertsDataStream(prefix) : undefined,
  };
}
