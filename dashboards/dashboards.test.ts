import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { INDEX_KINDS, type IndexKind, indexTemplate, TEMPLATE_FIELDS } from '../sinks/index.ts';
import { checkSavedObjects, type FieldTypes, kqlFields, parseNdjson, type SavedObject } from './check.ts';

const DIR = dirname(fileURLToPath(import.meta.url));
// The data views are written for the default index prefix; `clawdstrike-edr setup` rewrites them for another.
const PREFIX = 'clawdstrike';
const FILES = readdirSync(DIR)
  .filter((name) => name.endsWith('.ndjson'))
  .sort();

/** Field path → concrete type, read from the index template itself: objects, multi-fields and aliases. */
function templateFieldTypes(kind: IndexKind): Map<string, string> {
  const types = new Map<string, string>();
  const aliases = new Map<string, string>();
  const walk = (properties: unknown, prefix: string) => {
    if (!isRecord(properties)) return;
    for (const [name, mapping] of Object.entries(properties)) {
      if (!isRecord(mapping)) continue;
      const path = `${prefix}${name}`;
      if (mapping.properties) walk(mapping.properties, `${path}.`);
      else if (mapping.type === 'alias') aliases.set(path, String(mapping.path));
      else types.set(path, String(mapping.type));
      if (mapping.fields) walk(mapping.fields, `${path}.`);
    }
  };
  walk(indexTemplate(PREFIX, kind).template?.mappings?.properties, '');
  for (const [alias, target] of aliases) {
    const type = types.get(target);
    if (type === undefined) throw new Error(`${kind}: alias ${alias} points at unmapped ${target}`);
    types.set(alias, type);
  }
  return types;
}

const FIELDS = new Map(INDEX_KINDS.map((kind) => [kind, templateFieldTypes(kind)] as const));

/** A data view's fields: those of the template whose index pattern is exactly the data view's title. */
function fieldsFor(pattern: string): FieldTypes | undefined {
  const kind = INDEX_KINDS.find((candidate) =>
    [indexTemplate(PREFIX, candidate).index_patterns].flat().includes(pattern),
  );
  return kind ? FIELDS.get(kind) : undefined;
}

function readAll(replace?: { file: string; from: string; to: string }): {
  objects: SavedObject[];
  problems: string[];
} {
  const objects: SavedObject[] = [];
  const problems: string[] = [];
  for (const file of FILES) {
    let text = readFileSync(join(DIR, file), 'utf8');
    if (replace?.file === file) {
      if (!text.includes(replace.from)) throw new Error(`${file} has no ${replace.from} to break`);
      text = text.replace(replace.from, replace.to);
    }
    const parsed = parseNdjson(text, file);
    objects.push(...parsed.objects);
    problems.push(...parsed.problems);
  }
  return { objects, problems: [...problems, ...checkSavedObjects(objects, fieldsFor)] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

describe('dashboards/*.ndjson', () => {
  const { objects, problems } = readAll();

  it('reads the index templates the same way the sinks export them', () => {
    for (const kind of INDEX_KINDS) {
      expect([...(FIELDS.get(kind)?.keys() ?? [])].sort()).toEqual(Object.keys(TEMPLATE_FIELDS[kind]).sort());
    }
    expect(FIELDS.get('events')?.get('session.id')).toBe('keyword');
    expect(FIELDS.get('alerts')?.get('clawdstrike.risk_score')).toBe('float');
  });

  it('are valid saved objects whose references, JSON attributes and fields all check out', () => {
    expect(FILES).toEqual([
      'agent-fleet-overview.ndjson',
      'alerts-triage.ndjson',
      'data-views.ndjson',
      'session-investigation.ndjson',
    ]);
    expect(problems).toEqual([]);
  });

  it('define the two data views and the three dashboards with stable ids', () => {
    const ids = (type: string) => objects.filter((object) => object.type === type).map((object) => object.id);
    expect(ids('index-pattern').sort()).toEqual(['clawdstrike-edr-alerts', 'clawdstrike-edr-events']);
    expect(ids('dashboard').sort()).toEqual([
      'clawdstrike-edr-alerts-triage',
      'clawdstrike-edr-fleet-overview',
      'clawdstrike-edr-session-investigation',
    ]);
    const titles = objects
      .filter((object) => object.type === 'dashboard')
      .map((object) => object.attributes.title);
    expect(titles).toEqual(expect.arrayContaining([expect.stringContaining('Agent fleet overview')]));
    for (const object of objects) expect(object.id).toMatch(/^clawdstrike-edr-[a-z0-9-]+$/);
  });

  it('sort the session timeline by time, oldest first, with the investigation columns', () => {
    const timeline = objects.find((object) => object.id === 'clawdstrike-edr-session-timeline');
    expect(timeline?.attributes.sort).toEqual([['@timestamp', 'asc']]);
    expect(timeline?.attributes.columns).toEqual(
      expect.arrayContaining([
        'event.action',
        'clawdstrike.event_type',
        'clawdstrike.target',
        'clawdstrike.decision.outcome',
      ]),
    );
  });
});

describe('the dashboards check catches', () => {
  const cases: Array<[string, { file: string; from: string; to: string }, RegExp]> = [
    [
      'a typo in a Lens field',
      {
        file: 'agent-fleet-overview.ndjson',
        from: '"sourceField":"clawdstrike.decision.guard"',
        to: '"sourceField":"clawdstrike.decision.gaurd"',
      },
      /field clawdstrike\.decision\.gaurd is not in the index template/,
    ],
    [
      'a field used on the wrong data view',
      {
        file: 'alerts-triage.ndjson',
        from: '"sourceField":"rule.name"',
        to: '"sourceField":"clawdstrike.decision.guard"',
      },
      /field clawdstrike\.decision\.guard is not in the index template/,
    ],
    [
      'a text field used for top values',
      {
        file: 'alerts-triage.ndjson',
        from: '"sourceField":"rule.name"',
        to: '"sourceField":"rule.name.text"',
      },
      /rule\.name\.text is text, not usable for aggregate/,
    ],
    [
      'a typo in a saved search column',
      { file: 'session-investigation.ndjson', from: '"clawdstrike.target",', to: '"clawdstrike.targets",' },
      /columns: field clawdstrike\.targets is not in the index template/,
    ],
    [
      'a typo in a KQL query',
      { file: 'alerts-triage.ndjson', from: 'clawdstrike.severity : ', to: 'clawdstrike.sevrity : ' },
      /query: field clawdstrike\.sevrity is not in the index template/,
    ],
    [
      'a typo in a control field',
      {
        file: 'session-investigation.ndjson',
        from: '\\"fieldName\\":\\"session.id\\"',
        to: '\\"fieldName\\":\\"session.ids\\"',
      },
      /control control-session: field session\.ids is not in the index template/,
    ],
    [
      'a reference to an object that is not defined',
      {
        file: 'data-views.ndjson',
        from: '"id":"clawdstrike-edr-alerts"',
        to: '"id":"clawdstrike-edr-alert"',
      },
      /index-pattern\/clawdstrike-edr-alerts is not defined/,
    ],
    [
      'a data view whose pattern no template covers',
      {
        file: 'data-views.ndjson',
        from: '"title":"clawdstrike-events-*"',
        to: '"title":"clawdstrike-event-*"',
      },
      /matches no index template pattern/,
    ],
    [
      'overlapping dashboard panels',
      { file: 'alerts-triage.ndjson', from: '\\"x\\":32,\\"y\\":0', to: '\\"x\\":30,\\"y\\":0' },
      /overlaps panel panel-1/,
    ],
    [
      'broken JSON inside panelsJSON',
      { file: 'session-investigation.ndjson', from: '"panelsJSON":"[', to: '"panelsJSON":"[[' },
      /panelsJSON is not valid JSON/,
    ],
    [
      'a visualization pointing at a missing column',
      {
        file: 'agent-fleet-overview.ndjson',
        from: '"metricAccessor":"col-agents"',
        to: '"metricAccessor":"col-agent"',
      },
      /uses column col-agent that layer layer-1 does not have/,
    ],
  ];
  it.each(cases)('%s', (_name, replace, expected) => {
    const { problems } = readAll(replace);
    expect(problems.join('\n')).toMatch(expected);
  });

  it('field names in KQL, ignoring quoted values', () => {
    expect(kqlFields('a.b : "x: y" and (c >= 3 or not d:*) and @timestamp < now')).toEqual([
      'a.b',
      'c',
      'd',
      '@timestamp',
    ]);
  });
});
