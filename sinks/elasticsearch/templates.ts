import type { Client, estypes } from '@elastic/elasticsearch';
import { ALERT_PROPERTIES, EVENT_PROPERTIES, type FieldMapping, fieldPaths } from './mappings.ts';

/** Bumped whenever a mapping changes; stored as the template's `version`. */
export const TEMPLATE_VERSION = 2;

export const INDEX_KINDS = ['events', 'alerts'] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];

const PROPERTIES: Record<IndexKind, Record<string, FieldMapping>> = {
  events: EVENT_PROPERTIES,
  alerts: ALERT_PROPERTIES,
};

/**
 * Every mapped field of each index kind, path → Elasticsearch type. Dashboards may only use these:
 * their test checks every field a visualization uses against this list.
 */
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
        properties: PROPERTIES[kind] as Record<string, estypes.MappingProperty>,
      },
    },
  };
}

/** Puts (creates or replaces) both templates; used at sink start and by `clawdstrike-edr setup`. */
export async function installTemplates(
  client: Client,
  prefix: string,
  options: TemplateOptions = {},
): Promise<string[]> {
  const templates = INDEX_KINDS.map((kind) => indexTemplate(prefix, kind, options));
  for (const template of templates) await client.indices.putIndexTemplate(template);
  return templates.map((template) => template.name);
}
