import type { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overlayOf } from '../../engine/response/overlay.ts';
import { requireElasticsearchUrl, uniqueIndexPrefix } from '../../test/support/elasticsearch.ts';
import { commandEvent, makeAlert, makeEnvelope, networkEvent } from '../../test/support/sink-items.ts';
import { SinksConfigSchema } from '../config.ts';
import { MemoryDeadLetterWriter } from '../driver/dead-letter.ts';
import { createSinkRouter } from '../factory.ts';
import type { SinkRouter } from '../router.ts';
import { createElasticsearchClient } from './client.ts';
import { ElasticsearchSinkConfigSchema } from './config.ts';
import { TEMPLATE_FIELDS } from './templates.ts';

/** Against the real Elasticsearch from the test harness; every run writes under its own index prefix. */
describe('Elasticsearch sink (real Elasticsearch)', () => {
  const prefix = uniqueIndexPrefix('es');
  let client: Client;
  let router: SinkRouter;
  const deadLetters = new MemoryDeadLetterWriter();

  const count = async (kind: 'events' | 'alerts', query?: object) => {
    await client.indices.refresh({ index: `${prefix}-${kind}-*`, allow_no_indices: true });
    const response = await client.count({ index: `${prefix}-${kind}-*`, allow_no_indices: true, query });
    return response.count;
  };

  beforeAll(async () => {
    const node = requireElasticsearchUrl();
    client = createElasticsearchClient(
      ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node, indexPrefix: prefix }),
    );
    const config = SinksConfigSchema.parse({
      sinks: [
        {
          type: 'elasticsearch',
          node,
          indexPrefix: prefix,
          templates: { replicas: 0 },
          delivery: { retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 50 } },
        },
      ],
    });
    router = createSinkRouter(config, { deadLetters, elasticsearchClient: client });
    await router.start();
  });

  afterAll(async () => {
    if (!client) return;
    // Destructive actions need concrete names (action.destructive_requires_name).
    const indices = Object.keys(await client.indices.get({ index: `${prefix}-*`, allow_no_indices: true }));
    if (indices.length > 0) await client.indices.delete({ index: indices });
    await client.indices.deleteIndexTemplate({ name: [`${prefix}-events`, `${prefix}-alerts`] });
    await router.close();
    await client.close();
  });

  it('installs composable index templates whose mappings list every exported field', async () => {
    const { index_templates: templates } = await client.indices.getIndexTemplate({ name: `${prefix}-*` });
    expect(templates.map((template) => template.name).sort()).toEqual([
      `${prefix}-alerts`,
      `${prefix}-events`,
    ]);
    const events = templates.find((template) => template.name === `${prefix}-events`)!;
    expect(events.index_template.index_patterns).toEqual([`${prefix}-events-*`]);
    expect(String(events.index_template.template?.mappings?.dynamic)).toBe('false');

    // A created index really carries the mapping: ask Elasticsearch for every exported field.
    await router.deliver({ events: [makeEnvelope()], alerts: [makeAlert()] });
    for (const kind of ['events', 'alerts'] as const) {
      const mapping = await client.indices.getFieldMapping({ index: `${prefix}-${kind}-*`, fields: ['*'] });
      const mapped = new Set(Object.values(mapping).flatMap((index) => Object.keys(index.mappings)));
      const missing = Object.keys(TEMPLATE_FIELDS[kind]).filter((field) => !mapped.has(field));
      expect(missing, `${kind} fields missing from the live mapping`).toEqual([]);
    }
  });

  it('makes events and alerts searchable by their ECS fields, in daily indices by event time', async () => {
    const denied = makeEnvelope();
    const egress = networkEvent({ sessionId: 'sess-egress' });
    const command = commandEvent();
    const policySuggestion = overlayOf(
      [{ kind: 'egress_block', value: 'evil.example' }],
      'clawdstrike:default',
    )!.overlay;
    const alert = makeAlert({ sessionId: 'sess-alerted', response: { policySuggestion } });

    const report = await router.deliver({ events: [denied, egress, command], alerts: [alert] });
    expect(report).toMatchObject({ items: 4, written: 4, deadLettered: 0 });

    const term = (field: string, value: unknown) => ({ term: { [field]: value } });
    expect(await count('events', term('event.id', denied.eventId))).toBe(1);
    expect(await count('events', term('file.path', '/home/dev/.ssh/id_rsa'))).toBeGreaterThanOrEqual(1);
    expect(await count('events', { match: { 'file.path.text': 'ssh' } })).toBeGreaterThanOrEqual(1);
    expect(await count('events', term('destination.domain', 'evil.example'))).toBe(1);
    expect(await count('events', term('destination.port', 443))).toBe(1);
    expect(await count('events', term('url.full', 'https://evil.example/up'))).toBe(1);
    expect(await count('events', { match: { 'process.command_line.text': 'credentials' } })).toBe(1);
    expect(await count('events', term('session.id', 'sess-egress'))).toBe(1);
    expect(await count('events', term('clawdstrike.decision.guard', 'egress_allowlist'))).toBe(1);
    expect(
      await count('events', {
        bool: { filter: [term('event.category', 'intrusion_detection'), term('event.type', 'denied')] },
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(await count('events', term('clawdstrike.data.port', '443'))).toBe(1);

    expect(await count('alerts', term('event.kind', 'alert'))).toBeGreaterThanOrEqual(1);
    expect(await count('alerts', term('rule.id', 'credential-exfiltration'))).toBeGreaterThanOrEqual(1);
    expect(await count('alerts', term('threat.technique.id', 'T1552.004'))).toBeGreaterThanOrEqual(1);
    expect(await count('alerts', term('session.id', 'sess-alerted'))).toBe(1);
    const suggested = {
      'clawdstrike.response.policy_suggestion.guards.egress_allowlist.additional_block': 'evil.example',
    };
    expect(await count('alerts', { term: suggested })).toBe(1);
    expect(
      await count('alerts', { range: { 'clawdstrike.risk_score': { gte: 90 } } }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await count('alerts', { match: { 'clawdstrike.alert.summary': 'connected' } }),
    ).toBeGreaterThanOrEqual(1);

    const indices = Object.keys(await client.indices.get({ index: `${prefix}-*` }));
    expect(indices).toEqual(
      expect.arrayContaining([`${prefix}-events-2026.03.14`, `${prefix}-alerts-2026.03.14`]),
    );
  });

  it('leaves the count unchanged when the same batch is delivered twice', async () => {
    const batch = {
      events: [makeEnvelope({ timestamp: '2026-04-01T00:00:01.000Z' }), networkEvent()],
      alerts: [makeAlert({ timestamp: '2026-04-01T00:00:02.000Z' })],
    };
    const first = await router.deliver(batch);
    const eventsAfterFirst = await count('events');
    const alertsAfterFirst = await count('alerts');

    const second = await router.deliver(batch);

    expect(first).toMatchObject({ written: 3, duplicates: 0 });
    expect(second).toMatchObject({ written: 0, duplicates: 3, deadLettered: 0 });
    expect(await count('events')).toBe(eventsAfterFirst);
    expect(await count('alerts')).toBe(alertsAfterFirst);
  });

  it('stores data deeper than the flattened limit as JSON text, flagged, while the rest of the batch lands', async () => {
    // 25 levels of tool parameters: deeper than the flattened field's depth limit (20).
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let level = 0; level < 25; level++) deep = { nested: deep };
    const hostile = makeEnvelope({
      eventType: 'tool_call',
      target: 'mcp__deep',
      data: { type: 'tool', toolName: 'mcp__deep', parameters: deep },
    });
    const good = [makeEnvelope(), networkEvent()];
    const before = deadLetters.letters.length;

    const report = await router.deliver({ events: [good[0]!, hostile, good[1]!] });

    expect(report).toMatchObject({ written: 3, deadLettered: 0 });
    expect(deadLetters.letters.length).toBe(before);
    for (const event of [...good, hostile]) {
      expect(await count('events', { term: { 'event.id': event.eventId } })).toBe(1);
    }
    expect(
      await count('events', {
        bool: {
          filter: [
            { term: { 'event.id': hostile.eventId } },
            { term: { 'clawdstrike.adjusted_fields': 'clawdstrike.data' } },
          ],
        },
      }),
    ).toBe(1);
  });
});
