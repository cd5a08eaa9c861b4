/**
 * A partition's state restored from its incremental checkpoint (changelog) is the state of the uninterrupted
 * run, at any cut: after any sequence of checkpoints, a crash at any point (a checkpoint torn after any record
 * it wrote included), a restore from the store, and the batches from the last committed checkpoint on again,
 * the alerts are those of one uninterrupted engine.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../core/clock.ts';
import { EdrError } from '../../core/errors.ts';
import { createEngine, type Envelope, loadRules, parseRecord } from '../../engine/index.ts';
import { referenceScenario } from '../../test/support/scenarios.ts';
import { REPO_ROOT } from '../../test/support/shared.ts';
import { type CheckpointStore, MemoryCheckpointStore, type Message } from '../../transport/index.ts';
import { encodeSnapshot } from '../checkpoint-codec.ts';
import { PartitionEngines, type RestoreOutcome } from '../partition-engines.ts';

const rules = (() => {
  const loaded = loadRules([join(REPO_ROOT, 'rules')]);
  if (!loaded.ok) throw new Error('bundled rules do not load');
  return loaded.value;
})();

/** Tight caps, so eviction order (what the entries' recency stamps restore) decides what stays. */
const LIMITS = { maxSessions: 6, maxCorrelationStates: 12, maxSuppressions: 5, maxNewTerms: 40 };
const clock: Clock = () => Date.parse('2026-05-01T06:00:00Z');

const events: Envelope[] = referenceScenario({
  runId: 'cl',
  sessionsPerRule: 2,
  startMs: Date.parse('2026-05-01T00:00:00Z'),
}).map((raw) => {
  const parsed = parseRecord(raw);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value;
});

/** Messages stand for their events: the journal keeps messages and decodes them again on a rollback. */
const byMessage = new Map<Message, Envelope>();
function messageOf(event: Envelope, offset: number): Message {
  const message: Message = {
    stream: 'events',
    key: event.agentId,
    value: Buffer.from(event.eventId),
    headers: {},
    partition: 'events/0',
    offset: String(offset),
    deliveryCount: 1,
    timestamp: 0,
    ack: () => undefined,
    nak: () => undefined,
    term: () => undefined,
    working: () => undefined,
  };
  byMessage.set(message, event);
  return message;
}

/** A store that fails once `budget` records were written: a crash in the middle of a checkpoint. */
class TearingStore implements CheckpointStore {
  budget = Number.POSITIVE_INFINITY;
  constructor(readonly inner: MemoryCheckpointStore) {}
  load(key: string) {
    return this.inner.load(key);
  }
  loadPrefix(prefix: string) {
    return this.inner.loadPrefix(prefix);
  }
  async save(key: string, value: Uint8Array): Promise<void> {
    await this.saveMany([[key, value]]);
  }
  async saveMany(records: ReadonlyArray<readonly [string, Uint8Array | null]>): Promise<void> {
    for (const record of records) {
      if (this.budget-- <= 0) throw new EdrError('EDR_ERR_BROKER_UNAVAILABLE', 'torn');
      await this.inner.saveMany([record]);
    }
  }
  async removePrefix(prefix: string): Promise<void> {
    if (this.budget-- <= 0) throw new EdrError('EDR_ERR_BROKER_UNAVAILABLE', 'torn');
    await this.inner.removePrefix(prefix);
  }
  async close(): Promise<void> {}
}

function engines(store: CheckpointStore, onRestore?: (outcome: RestoreOutcome) => void) {
  return new PartitionEngines({
    inputs: () => ({ rules, intel: undefined, assets: undefined }),
    clock,
    limits: LIMITS,
    checkpoints: store,
    group: 'g',
    decode: (messages) => messages.map((message) => byMessage.get(message)!),
    // Small chunks: a checkpoint's redo log is several records, so a tear can fall between them; logs
    // applied every other checkpoint, so tears fall in applies too.
    changelog: { chunkBytes: 2_048, maxLogs: 2 },
    onRestore: (_, outcome) => onRestore?.(outcome),
  });
}

function batchesOf(cuts: readonly number[]): Array<{ messages: Message[]; events: Envelope[] }> {
  const bounds = [0, ...[...new Set(cuts)].sort((a, b) => a - b), events.length];
  const batches: Array<{ messages: Message[]; events: Envelope[] }> = [];
  for (let index = 1; index < bounds.length; index++) {
    const slice = events.slice(bounds[index - 1], bounds[index]);
    if (slice.length === 0) continue;
    batches.push({
      events: slice,
      messages: slice.map((event, at) => messageOf(event, bounds[index - 1]! + at)),
    });
  }
  return batches;
}

describe('restore from the incremental checkpoint', () => {
  const uninterrupted = (batches: ReturnType<typeof batchesOf>) => {
    const engine = createEngine({ rules, clock, limits: LIMITS });
    return batches.map(({ events: batch }) => engine.processBatch(batch).map((alert) => alert.alertId));
  };

  it('gives the alerts of the uninterrupted run at any cut, a torn checkpoint included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: events.length - 1 }), { minLength: 3, maxLength: 12 }),
        fc.array(fc.boolean(), { minLength: 13, maxLength: 13 }),
        fc.nat(),
        fc.option(fc.nat({ max: 40 }), { nil: undefined }),
        async (cuts, checkpointAfter, crashSeed, tearAfter) => {
          const batches = batchesOf(cuts);
          const expected = uninterrupted(batches);
          const crashAt = crashSeed % batches.length;
          const memory = new MemoryCheckpointStore();
          const store = new TearingStore(memory);

          const first = await engines(store).forPartition('events/0');
          const delivered: string[] = [];
          let committed = -1;
          for (let index = 0; index <= crashAt; index++) {
            const { messages, events: batch } = batches[index]!;
            delivered.push(...first.evaluate(messages, batch).map((alert) => alert.alertId));
            first.keep();
            const last = index === crashAt;
            if (!last && !checkpointAfter[index]) continue;
            if (last && tearAfter !== undefined) store.budget = tearAfter;
            try {
              await first.checkpoint();
              committed = index;
            } catch {
              // The crash: offsets stay at the last checkpoint that returned.
            }
          }

          const restores: RestoreOutcome[] = [];
          const second = await engines(memory, (outcome) => restores.push(outcome)).forPartition('events/0');
          // A checkpoint that returned is always there to restore (a torn one may be too: it is whole or absent).
          if (committed >= 0) expect(restores[0]).toMatchObject({ restored: true, from: 'changelog' });
          const after: string[] = [];
          for (const { messages, events: batch } of batches.slice(committed + 1)) {
            after.push(...second.evaluate(messages, batch).map((alert) => alert.alertId));
            second.keep();
          }
          // At least once: what came before the crash and after the restore is the uninterrupted run's.
          const all = expected.flat();
          expect(new Set([...delivered, ...after])).toEqual(new Set(all));
          // Nothing the uninterrupted run did not raise, and everything it raised after the crash.
          for (const id of after) expect(all).toContain(id);
          expect(after).toEqual(expect.arrayContaining(expected.slice(crashAt + 1).flat()));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads a whole-state checkpoint of an earlier version, then writes it as entries and removes it', async () => {
    const cut = Math.floor(events.length / 2);
    const expected = createEngine({ rules, clock, limits: LIMITS })
      .processBatch(events)
      .map((alert) => alert.alertId);
    const before = createEngine({ rules, clock, limits: LIMITS });
    const delivered = before.processBatch(events.slice(0, cut)).map((alert) => alert.alertId);
    const store = new MemoryCheckpointStore();
    await store.save('g/events/0', await encodeSnapshot(before.snapshot()));

    const restores: RestoreOutcome[] = [];
    const migrated = await engines(store, (outcome) => restores.push(outcome)).forPartition('events/0');
    expect(restores[0]).toMatchObject({ restored: true, from: 'whole-state checkpoint' });
    await migrated.checkpoint();
    expect(migrated.lastWritten.entries).toBe(restores[0]!.restored ? restores[0]!.entries : -1);
    expect(await store.load('g/events/0')).toBeUndefined();

    const reopened = await engines(store, (outcome) => restores.push(outcome)).forPartition('events/0');
    expect(restores[1]).toMatchObject({ restored: true, from: 'changelog' });
    const after = reopened.engine.processBatch(events.slice(cut)).map((alert) => alert.alertId);
    expect([...delivered, ...after]).toEqual(expected);
  });
});
