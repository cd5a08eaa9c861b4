/**
 * Issue 13: a sink folder that cannot be written at all (here a read-only file system). Before, every item
 * (17,827 of them) was dead-lettered while /readyz stayed ready. Now the route reports not ready from its
 * start probe, naming the file and EROFS, holds its batch instead of dead-lettering it, and writes it once
 * the folder is writable again. (The processor's /readyz answers 503 from this: processor-readyz.test.ts.)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSinkRouter, MemoryDeadLetterWriter, SinksConfigSchema } from '../../sinks/index.ts';
import { removeDir, tempDir } from '../support/pipeline.ts';
import { makeAlert, makeEnvelope } from '../support/sink-items.ts';
import { jsonlLines, mountTmpfs, notExactlyOnce, occurrences, remount } from './sinks-support.ts';

function fileRouter(directory: string, deadLetters: MemoryDeadLetterWriter) {
  const config = SinksConfigSchema.parse({
    sinks: [
      {
        type: 'file',
        directory,
        delivery: { retry: { initialDelayMs: 20, maxDelayMs: 200 }, probeIntervalMs: 200 },
      },
    ],
  });
  return createSinkRouter(config, { deadLetters });
}

describe('a read-only sink folder', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('control: a writable folder is ready at start and takes the batch', async () => {
    const directory = await tempDir('sinks-rw');
    cleanups.push(() => removeDir(directory));
    const deadLetters = new MemoryDeadLetterWriter();
    const router = fileRouter(directory, deadLetters);
    cleanups.push(() => router.close());
    await router.start();
    expect(router.health()).toEqual({ ready: true, routes: [{ name: 'file', ready: true }] });
    expect(await router.deliver({ events: [makeEnvelope()], alerts: [makeAlert()] })).toMatchObject({
      written: 2,
      deadLettered: 0,
    });
  });

  it('is not ready from the start, holds the batch without a dead letter, and writes it once writable', {
    timeout: 30_000,
  }, async () => {
    const base = await tempDir('sinks-ro');
    cleanups.push(() => removeDir(base));
    const mount = join(base, 'disk');
    const { unmount } = await mountTmpfs(mount, 1024 * 1024);
    cleanups.push(unmount);
    const directory = join(mount, 'sinks');
    await mkdir(directory);
    await writeFile(join(directory, 'events.jsonl'), '');
    await remount(mount, 'ro');
    cleanups.push(() => remount(mount, 'rw').catch(() => undefined));

    const deadLetters = new MemoryDeadLetterWriter();
    const router = fileRouter(directory, deadLetters);
    cleanups.push(() => router.close());
    await router.start();
    const health = router.health();
    expect(health.ready).toBe(false);
    expect(health.routes[0]!.reason).toMatch(/EROFS/);
    expect(health.routes[0]!.reason).toContain(join(directory, 'events.jsonl'));

    const events = Array.from({ length: 300 }, () => makeEnvelope());
    const alerts = Array.from({ length: 30 }, () => makeAlert());
    let settled = false;
    const delivered = router.deliver({ events, alerts }).finally(() => {
      settled = true;
    });
    // Far past the 6 attempts after which everything used to be dead-lettered.
    await expect.poll(() => router.stats()[0]!.retries, { timeout: 20_000 }).toBeGreaterThanOrEqual(12);
    expect(settled).toBe(false);
    expect(deadLetters.letters).toEqual([]);
    expect(router.health().ready).toBe(false);

    await remount(mount, 'rw');
    expect(await delivered).toMatchObject({ written: 330, deadLettered: 0 });
    expect(router.health()).toEqual({ ready: true, routes: [{ name: 'file', ready: true }] });
    const written = await jsonlLines(directory, /\.jsonl$/);
    const ids = written.records.map((record) => String(record.eventId ?? record.alertId));
    const expected = [...events.map((event) => event.eventId), ...alerts.map((alert) => alert.alertId)];
    expect(notExactlyOnce(occurrences(ids, expected))).toEqual([]);
    expect(ids).toHaveLength(330);
  });

  it('an idle route becomes ready again once the folder is fixed, by its probe alone', {
    timeout: 30_000,
  }, async () => {
    const base = await tempDir('sinks-ro-idle');
    cleanups.push(() => removeDir(base));
    const mount = join(base, 'disk');
    const { unmount } = await mountTmpfs(mount, 1024 * 1024);
    cleanups.push(unmount);
    await remount(mount, 'ro');
    cleanups.push(() => remount(mount, 'rw').catch(() => undefined));
    const router = fileRouter(join(mount, 'sinks'), new MemoryDeadLetterWriter());
    cleanups.push(() => router.close());
    await router.start();
    expect(router.health().ready).toBe(false);
    await remount(mount, 'rw');
    await expect.poll(() => router.health().ready, { timeout: 10_000 }).toBe(true);
  });
});
