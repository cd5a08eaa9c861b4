/**
 * Issue 13: dead letters used to be a dead end (no command put them back). `clawdstrike-edr dead-letters
 * replay`, run as a user would (the CLI in a child process), against the real services:
 * - the sinks' JSONL dead letters of a permanent Elasticsearch failure (a daily index with a conflicting
 *   mapping), after the index is fixed, land once; replaying again adds nothing. Letters of a file sink, which
 *   cannot deduplicate, are written once too (the replay ledger);
 * - the Kafka dlq stream (records an older processor could not decode) goes back through a running processor
 *   into Elasticsearch once; replaying again reads nothing new.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DLQ_HEADERS, ProcessorConfigSchema } from '../../processor/index.ts';
import {
  createElasticsearchClient,
  createSinkRouter,
  type DeadLetter,
  ElasticsearchSinkConfigSchema,
} from '../../sinks/index.ts';
import { requireElasticsearchUrl, uniqueIndexPrefix } from '../support/elasticsearch.ts';
import {
  eventRecords,
  pipelineFixture,
  processorConfig,
  removeDir,
  startProcessor,
  tempDir,
  useCleanup,
  waitForEventsProcessed,
  writeConfigFile,
} from '../support/pipeline.ts';
import { referenceScenario } from '../support/scenarios.ts';
import { REPO_ROOT } from '../support/shared.ts';
import { makeAlert, makeEnvelope } from '../support/sink-items.ts';
import { countsById, deleteIndices, jsonlLines, notExactlyOnce, occurrences } from './sinks-support.ts';

const execFileAsync = promisify(execFile);

/** The real CLI, as an operator runs it. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'clawdstrike-edr.js'), ...args],
      { cwd: REPO_ROOT, env: process.env, timeout: 60_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('dead-letters replay', () => {
  const defer = useCleanup();
  let client: Client;
  const prefixes: string[] = [];

  beforeAll(() => {
    client = createElasticsearchClient(
      ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node: requireElasticsearchUrl() }),
    );
  });

  afterAll(async () => {
    for (const prefix of prefixes) await deleteIndices(client, prefix);
    await client.close();
  });

  it('puts the sinks’ dead letters back once the cause is fixed, once; a second replay adds nothing', {
    timeout: 120_000,
  }, async () => {
    const directory = await tempDir('replay-file');
    defer(() => removeDir(directory));
    const prefix = uniqueIndexPrefix('replay');
    prefixes.push(prefix);
    const deadLetterPath = join(directory, 'dead-letters.jsonl');
    const sinkDirectory = join(directory, 'files');
    const settings = {
      transport: { kind: 'memory' },
      sinks: {
        deadLetter: { path: deadLetterPath, fsync: false },
        sinks: [
          {
            type: 'elasticsearch',
            node: requireElasticsearchUrl(),
            indexPrefix: prefix,
            templates: { replicas: 0 },
            refresh: 'wait_for',
          },
          { type: 'file', directory: sinkDirectory, kinds: ['alert'] },
        ],
      },
    };
    const configPath = await writeConfigFile(directory, 'edr.yaml', settings);

    // The permanent failure: a daily index made outside the templates, agent.id a number.
    const broken = `${prefix}-events-2026.03.15`;
    await client.indices.create({
      index: broken,
      mappings: { properties: { agent: { properties: { id: { type: 'long' } } } } },
    });
    const received = '2026-03-15T12:00:00.000Z';
    const refusedDay = Array.from({ length: 40 }, (_, index) =>
      makeEnvelope({
        agentId: `agent-${index % 2}`,
        timestamp: '2026-03-15T08:00:00.000Z',
        receivedAt: received,
      }),
    );
    const otherDay = Array.from({ length: 60 }, () =>
      makeEnvelope({ timestamp: '2026-03-14T08:00:00.000Z', receivedAt: received }),
    );
    const router = createSinkRouter(ProcessorConfigSchema.parse(settings).sinks);
    await router.start();
    const report = await router.deliver({ events: [...refusedDay, ...otherDay] });
    await router.close();
    expect(report).toMatchObject({ written: 60, deadLettered: 40 });

    // Letters a file sink left (as a full disk did before this version): they too go back, once.
    const alerts = Array.from({ length: 5 }, () => makeAlert());
    const fileLetters: DeadLetter[] = alerts.map((alert) => ({
      sink: 'file',
      kind: 'alert',
      id: alert.alertId,
      reason: 'retries exhausted after 6 attempts: ENOSPC: no space left on device, write',
      code: 'retries_exhausted',
      attempts: 6,
      deadLetteredAt: new Date().toISOString(),
      item: alert,
    }));
    await appendFile(deadLetterPath, `${fileLetters.map((letter) => JSON.stringify(letter)).join('\n')}\n`);

    const ids = refusedDay.map((event) => event.eventId);
    const dry = await cli(['dead-letters', 'replay', '--config', configPath, '--dry-run']);
    expect(dry.stdout).toContain('45 read, 45 would replay, 0 failed again, 0 already replayed');
    expect(dry.stdout).toContain('elasticsearch: 40 would replay');
    expect(dry.code).toBe(0);
    const none = await countsById(client, `${prefix}-events-*`, 'event.id', ids);
    expect(ids.map((id) => none.get(id))).toEqual(new Array(40).fill(0));

    // The cause fixed: the stray index goes, the template makes the next one right.
    await client.indices.delete({ index: broken });

    const first = await cli(['dead-letters', 'replay', '--config', configPath]);
    expect(first.stderr).not.toMatch(/cannot take items|not JSON|not a dead letter/);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('45 read, 45 replayed, 0 failed again, 0 already replayed');
    const counts = await countsById(client, `${prefix}-events-*`, 'event.id', [
      ...ids,
      ...otherDay.map((event) => event.eventId),
    ]);
    expect(notExactlyOnce(counts)).toEqual([]);
    const alertIds = alerts.map((alert) => alert.alertId);
    const filed = async () =>
      (await jsonlLines(sinkDirectory, /^alerts.*\.jsonl$/)).records.map((record) => String(record.alertId));
    expect(notExactlyOnce(occurrences(await filed(), alertIds))).toEqual([]);

    const second = await cli(['dead-letters', 'replay', '--config', configPath]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('45 read, 0 replayed, 0 failed again, 45 already replayed');
    const again = await countsById(client, `${prefix}-events-*`, 'event.id', ids);
    expect(notExactlyOnce(again)).toEqual([]);
    expect(again.size).toBe(100);
    expect(await filed()).toHaveLength(5);
    const total = await client.count({ index: `${prefix}-events-*` });
    expect(total.count).toBe(100);
  });

  it('puts the Kafka dlq stream back through a running processor once; a second replay reads nothing', {
    timeout: 120_000,
  }, async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, 'kafka', 'replay-dlq');
    const prefix = uniqueIndexPrefix('replay-dlq');
    prefixes.push(prefix);
    const processorSettings = processorConfig(config, {
      group: `replay-dlq-${randomUUID()}`,
      directory,
      sinks: [
        {
          type: 'elasticsearch',
          node: requireElasticsearchUrl(),
          indexPrefix: prefix,
          templates: { replicas: 0 },
          refresh: 'wait_for',
        },
      ],
    });
    const processor = await startProcessor(processorSettings);
    defer(() => processor.stop());

    // What the processor writes to the dlq for a record it cannot decode: the original bytes and headers.
    const events = referenceScenario({
      runId: randomUUID().slice(0, 8),
      sessionsPerRule: 1,
      startMs: Date.now() - 10 * 60_000,
      benignPerSession: 2,
    }).slice(0, 12);
    const records = eventRecords(events);
    await publisher.createProducer().publish(
      records.map((record, index) => ({
        ...record,
        stream: 'dlq' as const,
        headers: {
          ...record.headers,
          [DLQ_HEADERS.error]: JSON.stringify([{ message: 'refused by an older decoder' }]),
          [DLQ_HEADERS.partition]: `${config.names.events}/0`,
          [DLQ_HEADERS.offset]: String(index),
        },
      })),
    );
    const configPath = await writeConfigFile(directory, 'edr.yaml', {
      transport: config,
      sinks: { deadLetter: { path: join(directory, 'dead-letters.jsonl') }, sinks: [] },
    });
    const group = `replay-${randomUUID()}`;
    const replayDlq = (...flags: string[]) =>
      cli([
        'dead-letters',
        'replay',
        '--config',
        configPath,
        '--from',
        'dlq',
        '--group',
        group,
        '--idle-ms',
        '1500',
        ...flags,
      ]);
    const dry = await replayDlq('--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('12 read, 12 would be published again');

    const first = await replayDlq();
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('12 read, 12 published again to events');
    await waitForEventsProcessed(processor.address, 12, 30_000);
    const ids = events.map((event) => String(event.eventId));
    expect(notExactlyOnce(await countsById(client, `${prefix}-events-*`, 'event.id', ids))).toEqual([]);

    const second = await replayDlq();
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('0 read, 0 published again to events');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(notExactlyOnce(await countsById(client, `${prefix}-events-*`, 'event.id', ids))).toEqual([]);
    const stored = await client.count({ index: `${prefix}-events-*` });
    expect(stored.count).toBe(12);
  });
});
