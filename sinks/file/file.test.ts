import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeAlert, makeEnvelope } from '../../test/support/sink-items.ts';
import { StdoutSinkConfigSchema } from '../stdout/config.ts';
import { StdoutSink } from '../stdout/sink.ts';
import { FileSinkConfigSchema } from './config.ts';
import { FileSink } from './sink.ts';

describe('file sink', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'edr-file-sink-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const lines = async (name: string) =>
    (await readFile(join(directory, name), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { eventId?: string; alertId?: string });

  it('writes one JSONL file per kind', async () => {
    const sink = new FileSink(FileSinkConfigSchema.parse({ type: 'file', directory }));
    const event = makeEnvelope();
    const alert = makeAlert();
    const outcomes = await sink.write([
      { kind: 'event', event },
      { kind: 'alert', alert },
    ]);
    expect(outcomes).toEqual([{ status: 'written' }, { status: 'written' }]);
    expect(await lines('events.jsonl')).toEqual([event]);
    expect(await lines('alerts.jsonl')).toEqual([alert]);
    await sink.close();
  });

  it('rotates by size without splitting lines, keeping maxFiles rotated files', async () => {
    const eventSize = JSON.stringify(makeEnvelope()).length + 1;
    const sink = new FileSink(
      FileSinkConfigSchema.parse({ type: 'file', directory, maxBytes: eventSize * 3, maxFiles: 2 }),
    );
    const written: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const events = [makeEnvelope(), makeEnvelope()];
      written.push(...events.map((event) => event.eventId));
      await sink.write(events.map((event) => ({ kind: 'event', event })));
    }
    await sink.close();

    const files = (await readdir(directory)).sort();
    expect(files).toHaveLength(3);
    expect(files).toContain('events.jsonl');
    expect(files.filter((name) => /^events\.\d{8}T\d{9}Z-\d{3}\.jsonl$/.test(name))).toHaveLength(2);
    const kept = (await Promise.all(files.map(lines))).flat().map((event) => event.eventId);
    // Each file holds whole batches (two lines here, under the 3-line limit); the oldest file was pruned.
    expect(kept.sort()).toEqual(written.slice(4).sort());
  });
});

describe('file sink failures', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'edr-file-sink-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('judges each file on its own: events land while the alerts file fails, and the reason names that file', async () => {
    // A folder where alerts.jsonl should be: that file can never be opened.
    await mkdir(join(directory, 'alerts.jsonl'));
    const sink = new FileSink(FileSinkConfigSchema.parse({ type: 'file', directory }));
    const event = makeEnvelope();
    const outcomes = await sink.write([
      { kind: 'alert', alert: makeAlert() },
      { kind: 'event', event },
    ]);
    expect(outcomes[1]).toEqual({ status: 'written' });
    expect(outcomes[0]).toMatchObject({ status: 'blocked' });
    expect((outcomes[0] as { reason: string }).reason).toContain(join(directory, 'alerts.jsonl'));
    expect((outcomes[0] as { reason: string }).reason).not.toContain('events.jsonl');
    expect(await sink.probe()).toMatchObject({ state: 'unusable' });
    await sink.close();
    const events = (await readFile(join(directory, 'events.jsonl'), 'utf8')).trim().split('\n');
    expect(events.map((line) => (JSON.parse(line) as { eventId: string }).eventId)).toEqual([event.eventId]);
  });

  it('cuts a line torn by a crash back to the last complete one before appending', async () => {
    const whole = JSON.stringify(makeEnvelope());
    await writeFile(join(directory, 'events.jsonl'), `${whole}\n{"eventId":"torn-by-a-cra`);
    const sink = new FileSink(FileSinkConfigSchema.parse({ type: 'file', directory }));
    const next = makeEnvelope();
    await sink.write([{ kind: 'event', event: next }]);
    await sink.close();
    const text = await readFile(join(directory, 'events.jsonl'), 'utf8');
    expect(text).toBe(`${whole}\n${JSON.stringify(next)}\n`);
  });
});

describe('stdout sink', () => {
  it('writes one JSON line per item, tagged by kind', async () => {
    const stream = new PassThrough();
    const sink = new StdoutSink(StdoutSinkConfigSchema.parse({ type: 'stdout' }), stream);
    const alert = makeAlert();
    expect(await sink.write([{ kind: 'alert', alert }])).toEqual([{ status: 'written' }]);
    expect(JSON.parse(stream.read().toString())).toEqual({ kind: 'alert', alert });
  });
});
