/**
 * Issue 13, item 11: the fixtures' secrets reach no sink in clear while their alerts still fire. The real
 * processor (test/support/pipeline.ts) consumes them from Kafka and delivers to a file sink, Elasticsearch,
 * a signed webhook and the alerts topic, all redacted, and to a second file sink with `redact: false` (the
 * control: it holds the clear values, so the secrets were really in the stream).
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedDir } from '../../collector/test/support.ts';
import type { Alert } from '../../engine/index.ts';
import { ProcessorConfigSchema } from '../../processor/index.ts';
import {
  createElasticsearchClient,
  ElasticsearchSinkConfigSchema,
  verifyWebhookSignature,
} from '../../sinks/index.ts';
import { createTransport } from '../../transport/index.ts';
import {
  collect,
  dropTransportResources,
  isolatedTransportConfig,
  silentLogger,
} from '../../transport/testing/index.ts';
import { elasticsearchUrl } from '../harness/env.ts';
import { uniqueIndexPrefix } from '../support/elasticsearch.ts';
import { ScriptedHttpServer } from '../support/http-server.ts';
import {
  alertIdsOf,
  coversAlerts,
  eventRecords,
  processorConfig,
  publishInChunks,
  removeDir,
  startProcessor,
  tempDir,
  waitForEventsProcessed,
} from '../support/pipeline.ts';
import { expectedAlerts, type WireEvent } from '../support/scenarios.ts';
import { REPO_ROOT } from '../support/shared.ts';

const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 0x11).toString('base64')}`;
const MARKER = /\[REDACTED:([^:\]]+):([0-9a-f]{16})\]/g;

/** The fixtures' secrets, and a private key of each PEM kind (the fixtures name key files but hold none). */
const rsaKey = generateKeyPairSync('rsa', { modulusLength: 1024 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();
const ed25519Key = generateKeyPairSync('ed25519')
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const pemBody = (pem: string) => pem.split('\n').slice(1, -2);
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SECRETS = [
  'AKIAIOSFODNN7EXAMPLE', // fixtures/rules/SECRET_IN_WRITTEN_CONTENT/positive.json
  'sk-123456789012345678901234567890', // same file
  'sk-123456789012345678901234567890123456789012345678', // ../shared/fixtures/upstream/policy-events
  AWS_SECRET,
  ...pemBody(rsaKey),
  ...pemBody(ed25519Key),
];

async function fixtureEvents(): Promise<WireEvent[]> {
  const read = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as { events: WireEvent[] };
  const rules = join(REPO_ROOT, 'fixtures', 'rules');
  const secretWrites = await read(join(rules, 'SECRET_IN_WRITTEN_CONTENT', 'positive.json'));
  const credentialReads = await read(join(rules, 'CLOUD_CREDENTIAL_FILE_ACCESS', 'positive.json'));
  const upstream = (await readFile(join(sharedDir(), 'fixtures/upstream/policy-events/events.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as WireEvent);
  const write = (eventId: string, agentId: string, path: string, content: string): WireEvent => ({
    eventId,
    eventType: 'file_write',
    timestamp: '2026-03-02T10:00:00.000Z',
    sessionId: `sess-${agentId}`,
    data: { type: 'file', path, operation: 'write', content },
    metadata: { source: 'cli', agentId, note: `wrote ${path}` },
  });
  const credentials = `[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = ${AWS_SECRET}\n`;
  const events = [
    ...secretWrites.events,
    ...credentialReads.events,
    ...upstream,
    write('pem-rsa', 'agent-keys', '/home/dev/.ssh/id_rsa', rsaKey),
    write('pem-ed25519', 'agent-keys', '/home/dev/.ssh/id_ed25519', ed25519Key),
    write('aws-a', 'agent-a', '/home/a/.aws/credentials', credentials),
    write('aws-b', 'agent-b', '/srv/b/.aws/credentials', credentials),
  ];
  // The fixtures are dated months ago; a recent, ordered time keeps them inside every time policy.
  const start = Date.now() - 20 * 60_000;
  return events.map((event, index) => ({
    ...event,
    timestamp: new Date(start + index * 1_000).toISOString(),
  }));
}

interface Landed {
  expected: Alert[];
  redactedFile: string;
  clearFile: string;
  elasticsearch: Array<{ index: string; id: string; source: string }>;
  alertsTopic: string[];
  webhooks: Array<{ body: string; valid: boolean }>;
}

let landed: Landed;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  const events = await fixtureEvents();
  const fixtureText = JSON.stringify(events);
  for (const secret of SECRETS) expect(fixtureText, 'the secret is in the input').toContain(secret);

  const transport = isolatedTransportConfig('kafka');
  const publisher = createTransport(transport, { logger: silentLogger });
  cleanups.push(
    () => dropTransportResources(transport),
    () => publisher.close(),
  );
  const directory = await tempDir('redaction');
  cleanups.push(() => removeDir(directory));
  const receiver = await ScriptedHttpServer.start(() => ({ status: 204 }));
  cleanups.push(() => receiver.close());
  const node = elasticsearchUrl();
  const indexPrefix = uniqueIndexPrefix('redaction');
  const client = createElasticsearchClient(
    ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node, indexPrefix }),
  );
  cleanups.push(() => client.close());
  cleanups.push(async () => {
    const indices = Object.keys(
      await client.indices.get({ index: `${indexPrefix}-*`, allow_no_indices: true }),
    );
    if (indices.length > 0) await client.indices.delete({ index: indices });
    await client.indices.deleteIndexTemplate({ name: `${indexPrefix}-*` }).catch(() => undefined);
  });

  const base = processorConfig(transport, {
    group: `redaction-${randomUUID()}`,
    directory,
    sinks: [
      { type: 'file', name: 'redacted', directory: join(directory, 'redacted'), kinds: ['event', 'alert'] },
      {
        type: 'file',
        name: 'clear',
        directory: join(directory, 'clear'),
        kinds: ['event', 'alert'],
        redact: false,
      },
      { type: 'elasticsearch', node, indexPrefix, kinds: ['event', 'alert'], templates: { replicas: 0 } },
      {
        type: 'webhook',
        secret: WEBHOOK_SECRET,
        actions: { alert_soc: { url: `${receiver.url}/soc/{ruleId}` } },
      },
    ],
  });
  const config = ProcessorConfigSchema.parse({
    ...base,
    redaction: { keyFile: join(directory, 'redaction-key') },
  });
  const processor = await startProcessor(config);
  cleanups.push(() => processor.stop());

  const expected = expectedAlerts(events);
  await publishInChunks(publisher.createProducer(), eventRecords(events));
  await waitForEventsProcessed(processor.address, events.length);
  const alertsTopic = await collect(publisher, 'alerts', { until: coversAlerts(expected) });

  await client.indices.refresh({ index: `${indexPrefix}-*` });
  const response = await client.search({ index: `${indexPrefix}-*`, size: 1_000, query: { match_all: {} } });
  landed = {
    expected,
    redactedFile: await folderText(join(directory, 'redacted')),
    clearFile: await folderText(join(directory, 'clear')),
    elasticsearch: response.hits.hits.map((hit) => ({
      index: hit._index,
      id: hit._id!,
      source: JSON.stringify(hit._source),
    })),
    alertsTopic: alertsTopic.map((message) => Buffer.from(message.value).toString('utf8')),
    webhooks: receiver.requests.map((request) => ({
      body: request.body.toString('utf8'),
      valid: verifyWebhookSignature({ secret: WEBHOOK_SECRET, headers: request.headers, body: request.body })
        .valid,
    })),
  };
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function folderText(folder: string): Promise<string> {
  const names = await readdir(folder);
  const texts = await Promise.all(names.map((name) => readFile(join(folder, name), 'utf8')));
  return texts.join('\n');
}

const linesOf = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('secrets in telemetry, through the real pipeline', () => {
  it('the alerts still fire: SECRET_IN_WRITTEN_CONTENT and CLOUD_CREDENTIAL_FILE_ACCESS among them, on every path', () => {
    const rules = new Set(landed.expected.map((alert) => alert.ruleId));
    expect(rules).toContain('SECRET_IN_WRITTEN_CONTENT');
    expect(rules).toContain('CLOUD_CREDENTIAL_FILE_ACCESS');
    const ids = new Set(alertIdsOf(landed.expected));
    expect(new Set(landed.alertsTopic.map((value) => (JSON.parse(value) as Alert).alertId))).toEqual(ids);
    const inFile = (text: string) =>
      new Set(linesOf(text).flatMap((line) => (typeof line.alertId === 'string' ? [line.alertId] : [])));
    expect(inFile(landed.redactedFile)).toEqual(ids);
    expect(inFile(landed.clearFile)).toEqual(ids);
    const esAlerts = landed.elasticsearch.filter((doc) => doc.index.includes('-alerts-'));
    expect(new Set(esAlerts.map((doc) => doc.id))).toEqual(ids);
    const socAlerts = landed.expected.filter((alert) => alert.actions.includes('alert_soc'));
    expect(landed.webhooks).toHaveLength(socAlerts.length);
    expect(landed.webhooks.every((request) => request.valid)).toBe(true);
  });

  it('no secret reaches the file sink, Elasticsearch, the alerts topic or a webhook body in clear', () => {
    const outputs = {
      file: landed.redactedFile,
      elasticsearch: landed.elasticsearch.map((doc) => doc.source).join('\n'),
      alertsTopic: landed.alertsTopic.join('\n'),
      webhooks: landed.webhooks.map((request) => request.body).join('\n'),
    };
    for (const [sink, text] of Object.entries(outputs)) {
      expect(text.length, sink).toBeGreaterThan(0);
      for (const secret of SECRETS)
        expect(text.includes(secret), `${sink} holds ${secret.slice(0, 12)}…`).toBe(false);
    }
    expect(landed.elasticsearch.filter((doc) => doc.index.includes('-events-'))).toHaveLength(
      linesOf(landed.clearFile).filter((line) => typeof line.eventId === 'string').length,
    );
  });

  it('the sink with redact: false gets every clear value (the control)', () => {
    for (const secret of SECRETS) expect(landed.clearFile).toContain(secret);
    expect(landed.clearFile).not.toMatch(MARKER);
  });

  it('equal secrets get equal digests, in every sink; other secrets other digests', () => {
    const events = linesOf(landed.redactedFile).filter((line) => typeof line.eventId === 'string');
    const content = (id: string) =>
      String((events.find((event) => event.eventId === id)!.data as { content: string }).content);
    const markers = (text: string) => [...text.matchAll(MARKER)].map(([whole]) => whole);
    // Two agents wrote the same credentials file: the same two markers (key id and secret key).
    expect(markers(content('aws-a'))).toHaveLength(2);
    expect(content('aws-a')).toBe(content('aws-b'));
    expect(content('aws-a')).toMatch(
      /aws_access_key_id = \[REDACTED:SECRET_IN_WRITTEN_CONTENT#0:[0-9a-f]{16}\]/,
    );
    // The fixture's AKIA key in a patch has the digest of the same key in the credentials file.
    const patch = String(
      (events.find((event) => event.eventId === 'p1')!.data as { patchContent: string }).patchContent,
    );
    expect(markers(patch)).toEqual([markers(content('aws-a'))[0]]);
    // Elasticsearch holds the very same markers.
    const esAws = landed.elasticsearch.find(
      (doc) => doc.index.includes('-events-') && doc.source.includes('"id":"aws-a"'),
    );
    for (const marker of markers(content('aws-a'))) expect(esAws?.source).toContain(marker);
    // The two sk- keys differ, and so do their digests; each private key is one marker for the whole block.
    const w1 = markers(content('w1'));
    const upstream = markers(content('evt-0012'));
    expect(w1).toHaveLength(1);
    expect(upstream).toHaveLength(1);
    expect(w1[0]).not.toBe(upstream[0]);
    expect(content('pem-rsa')).toMatch(/^\[REDACTED:SECRET_IN_WRITTEN_CONTENT#5:[0-9a-f]{16}\]\n$/);
    expect(content('pem-ed25519')).toMatch(/^\[REDACTED:SECRET_IN_WRITTEN_CONTENT#5:[0-9a-f]{16}\]\n$/);
    expect(content('pem-rsa')).not.toBe(content('pem-ed25519'));
  });
});
