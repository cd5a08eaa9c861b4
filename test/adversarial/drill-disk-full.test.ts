/**
 * Issue 13, drill: the disk under the JSONL file sink fills up, then space is freed. Before, the sink spent
 * its 6 attempts and dead-lettered what it held (647 items), and the append cut short by ENOSPC left a torn
 * line in each file. Now a full disk is an outage: the batch waits (not ready after notReadyAfterMs, the
 * reason naming the file), a failed append is cut back to the last complete line, and once space is back
 * every item is in its file exactly once. The disk is a small tmpfs this test mounts (CI runs as root).
 */
import { open, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert, Envelope } from '../../engine/index.ts';
import {
  createSinkRouter,
  MemoryDeadLetterWriter,
  type SinkRouter,
  SinksConfigSchema,
} from '../../sinks/index.ts';
import { removeDir, tempDir } from '../support/pipeline.ts';
import { makeAlert, makeEnvelope } from '../support/sink-items.ts';
import { jsonlLines, mountTmpfs, notExactlyOnce, occurrences } from './sinks-support.ts';

const DISK_BYTES = 4 * 1024 * 1024;
/** What is left free once the disk is filled: less than one batch, so an append fails part way. */
const LEFT_FREE = 8 * 1024;

/** Fills the file system holding `path` until ENOSPC, then gives `leave` bytes back. */
async function fill(path: string, leave: number): Promise<void> {
  const handle = await open(path, 'w');
  const block = Buffer.alloc(64 * 1024, 0x20);
  let size = 0;
  try {
    for (;;) {
      const { bytesWritten } = await handle.write(block);
      size += bytesWritten;
      if (bytesWritten < block.length) break;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
  await truncate(path, Math.max(0, size - leave));
}

function router(directory: string, deadLetters: MemoryDeadLetterWriter): SinkRouter {
  const config = SinksConfigSchema.parse({
    sinks: [
      {
        type: 'file',
        directory,
        delivery: {
          batchSize: 500,
          retry: { initialDelayMs: 20, maxDelayMs: 200 },
          notReadyAfterMs: 500,
          probeIntervalMs: 200,
        },
      },
    ],
  });
  return createSinkRouter(config, { deadLetters });
}

describe('drill: the disk under the file sink fills up, then frees', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('waits while the disk is full, never tears a line, and writes every item exactly once after', {
    timeout: 60_000,
  }, async () => {
    const base = await tempDir('drill-disk');
    cleanups.push(() => removeDir(base));
    const disk = join(base, 'disk');
    const { unmount } = await mountTmpfs(disk, DISK_BYTES);
    cleanups.push(unmount);
    const directory = join(disk, 'sinks');
    const deadLetters = new MemoryDeadLetterWriter();
    const sinks = router(directory, deadLetters);
    cleanups.push(() => sinks.close());
    await sinks.start();

    // Control: with room, a batch lands.
    const control = { events: Array.from({ length: 200 }, () => makeEnvelope()), alerts: [makeAlert()] };
    expect(await sinks.deliver(control)).toMatchObject({ written: 201, deadLettered: 0 });

    await fill(join(disk, 'filler'), LEFT_FREE);
    // As a plain append did before: the write stops part way and leaves a torn line behind.
    const plain = join(disk, 'plain.jsonl');
    const lines = `${control.events.map((event) => JSON.stringify(event)).join('\n')}\n`;
    await expect(writeFile(plain, lines)).rejects.toMatchObject({ code: 'ENOSPC' });
    const before = await jsonlLines(disk, /^plain\.jsonl$/);
    expect(before.unterminated).toEqual(['plain.jsonl']);
    expect(before.torn).toHaveLength(1);
    await rm(plain);

    const events: Envelope[] = Array.from({ length: 1_500 }, () => makeEnvelope());
    const alerts: Alert[] = Array.from({ length: 100 }, () => makeAlert());
    let settled = false;
    const delivered = sinks.deliver({ events, alerts }).finally(() => {
      settled = true;
    });

    // Full: the batch waits, the sink says why, nothing is dead-lettered, the files hold whole lines only.
    await expect.poll(() => sinks.health().ready, { timeout: 10_000 }).toBe(false);
    const reason = sinks.health().routes[0]!.reason ?? '';
    expect(reason).toMatch(/^failing for \d+ s: .*(events|alerts)\.jsonl: ENOSPC/);
    expect(settled).toBe(false);
    expect(deadLetters.letters).toEqual([]);
    const whileFull = await jsonlLines(directory, /\.jsonl$/);
    expect(whileFull.torn).toEqual([]);
    expect(whileFull.unterminated).toEqual([]);
    // Twice the 6 attempts after which the batch used to be dead-lettered.
    await expect.poll(() => sinks.stats()[0]!.retries, { timeout: 20_000 }).toBeGreaterThanOrEqual(12);
    expect(deadLetters.letters).toEqual([]);
    expect(settled).toBe(false);

    await rm(join(disk, 'filler'));
    expect(await delivered).toMatchObject({ written: 1_600, deadLettered: 0 });
    expect(deadLetters.letters).toEqual([]);
    expect(sinks.health()).toEqual({ ready: true, routes: [{ name: 'file', ready: true }] });

    const after = await jsonlLines(directory, /\.jsonl$/);
    expect(after.torn).toEqual([]);
    expect(after.unterminated).toEqual([]);
    const written = after.records.map((record) => String(record.eventId ?? record.alertId));
    const expected = [...control.events, ...events].map((event) => event.eventId);
    expected.push(...[...control.alerts, ...alerts].map((alert) => alert.alertId));
    expect(written).toHaveLength(expected.length);
    expect(notExactlyOnce(occurrences(written, expected))).toEqual([]);
  });
});
