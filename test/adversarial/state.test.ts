import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  createEngine,
  DEFAULT_LIMITS,
  DEFAULT_RECORD_LIMITS,
  type EngineLimits,
  type Envelope,
  parseRecord,
  type RecordLimits,
  RecordLimitsSchema,
  snapshotBound,
} from '../../engine/index.ts';
import { bundledRules } from '../engine/helpers.ts';
import { iso, T0 } from './records-support.ts';

/**
 * Issue 13, "No size limits on fields": 100 events with 4 MB paths held 550 MB in one session, and a partition
 * whose state no longer fits a JSON string can never checkpoint again. Every string the engine keeps is
 * bounded (ids by the record limits, keys by maxStateKeyChars, kept alerts by maxPendingAlertChars) and every
 * count too, so the snapshot has a largest size, snapshotBound(), which these tests hold the engine to.
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('engine state within its byte budget', () => {
  it('a session fed 100 events with 4 MB paths keeps a few KB, and its snapshot stays within the bound', () => {
    const engine = createEngine({ rules: bundledRules(), clock: () => T0 + 60_000 });
    const before = heapMiB();
    const big = 'd/'.repeat(2 * 1024 * 1024);
    for (let i = 0; i < 100; i++) {
      // Past the record limits too (an envelope from anywhere): the engine bounds what it keeps by itself.
      const path = `/srv/${i}/${big}`;
      const envelope: Envelope = {
        schemaVersion: 1,
        eventId: `big-${i}`,
        timestamp: iso(T0 + i * 100),
        receivedAt: iso(T0 + i * 100),
        agentId: 'agent-1',
        sessionId: 'sess-1',
        eventType: 'file_read',
        target: path,
        data: { type: 'file', path, operation: 'read' },
        decision: { outcome: 'allow', severity: 'info' },
        source: { format: 'policy_event' },
        metadata: {},
      };
      engine.process(envelope);
    }
    const grown = heapMiB() - before;
    const snapshot = engine.snapshot();
    const session = snapshot.sessions.find((s) => s.sessionId === 'sess-1')!;
    expect(session.eventCount).toBe(100);
    // 100 distinct targets, each kept as a 51-character digest instead of 4 MB.
    expect(session.targets).toHaveLength(100);
    expect(Math.max(...session.targets.map((target) => target.length))).toBe(51);
    expect(engine.stats().state.targets).toBe(100);
    // The RAPID_FILE_ENUMERATION state holds 100 hits whose distinct values are digests too.
    const bytes = jsonBytes(snapshot);
    expect(bytes).toBeLessThan(64 * 1024);
    expect(bytes).toBeLessThan(snapshotBound(DEFAULT_LIMITS, DEFAULT_RECORD_LIMITS).bytes);
    // 400 MB of paths went through; the engine kept almost nothing of them (it held 550 MB before).
    expect(grown).toBeLessThan(16);
  });

  it('holds every count at its cap under hostile keys, counts each eviction, and writes at most snapshotBound()', () => {
    const record: RecordLimits = RecordLimitsSchema.parse({ maxIdBytes: 64 });
    const limits: EngineLimits = {
      ...DEFAULT_LIMITS,
      maxSessions: 40,
      maxTargetsPerSession: 25,
      maxTargets: 400,
      maxCorrelationStates: 60,
      maxHitsPerState: 120,
      maxPartialMatches: 600,
      maxSuppressions: 50,
      dedupeCapacity: 300,
      maxPendingAlertChars: 2_048,
      maxAlertEventIds: 10,
      // This fill makes no baselines (no egress, tool, secret or command events): their part of the bound is kept small.
      maxTermsPerGroup: 5,
      maxNewTerms: 10,
    };
    let now = T0;
    const engine = createEngine({ rules: bundledRules(), clock: () => now, limits });
    // Ids at their longest in 3-byte characters, keys at their longest in characters JSON writes 6 bytes for.
    const id = (prefix: string, i: number) => `${prefix}${i}-`.padEnd(21, 'é').slice(0, 21);
    const hostileKey = (i: number) => `${i}`.padEnd(64, '\u0001');
    const records: unknown[] = [];
    for (let i = 0; i < 3_400; i++) {
      // 400 events in sessions of their own (more sessions than maxSessions), then runs of 40 events in 35
      // sessions (more distinct targets than maxTargets, more partial matches than maxPartialMatches).
      const run = i < 400 ? 1_000 + i : Math.floor((i - 400) / 40) % 35;
      const session = id('s', run);
      const agent = id('a', run % 7);
      const timestamp = iso(T0 + i * 50);
      const common = { eventId: id('e', i), timestamp, sessionId: session, agentId: agent };
      if (i % 10 === 3) {
        // Critical denials: absence triggers with a kept alert each.
        records.push({
          ...common,
          eventType: 'file_write',
          data: { type: 'file', path: `/etc/${hostileKey(i)}`, operation: 'write' },
          decision: { status: 'deny', severity: 'critical', guard: 'forbidden_path' },
        });
      } else if (i % 10 === 7) {
        // Matches of suppressed rules, each with its own suppression key.
        records.push({
          ...common,
          eventType: 'file_write',
          data: { type: 'file', path: `/etc/cron.d/${hostileKey(i)}`, operation: 'write' },
        });
      } else {
        records.push({
          ...common,
          eventType: 'file_read',
          data: { type: 'file', path: `/srv/${hostileKey(i)}`, operation: 'read' },
        });
      }
    }
    const bound = snapshotBound(limits, record).bytes;
    let largest = 0;
    records.forEach((raw, i) => {
      const parsed = parseRecord(raw, { receivedAt: iso(T0 + 200_000), limits: record });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
      now = Date.parse(parsed.value.timestamp);
      engine.process(parsed.value);
      if (i % 100 === 99) largest = Math.max(largest, jsonBytes(engine.snapshot()));
    });
    const stats = engine.stats();
    expect(stats.state.sessions).toBeLessThanOrEqual(limits.maxSessions);
    expect(stats.state.targets).toBeLessThanOrEqual(limits.maxTargets);
    expect(stats.state.correlationStates).toBeLessThanOrEqual(limits.maxCorrelationStates);
    expect(stats.state.partialMatches).toBeLessThanOrEqual(limits.maxPartialMatches);
    expect(stats.state.suppressions).toBeLessThanOrEqual(limits.maxSuppressions);
    expect(stats.state.dedupeEntries).toBeLessThanOrEqual(limits.dedupeCapacity);
    expect(stats.evictions).toMatchObject({
      sessionsCap: expect.any(Number),
      sessionsTargets: expect.any(Number),
      statesPartialMatches: expect.any(Number),
      suppressionsCap: expect.any(Number),
      dedupeCap: expect.any(Number),
    });
    for (const counter of [
      'sessionsCap',
      'sessionsTargets',
      'statesPartialMatches',
      'suppressionsCap',
      'dedupeCap',
    ] as const) {
      expect([counter, stats.evictions[counter]]).toEqual([counter, expect.any(Number)]);
      expect(stats.evictions[counter]).toBeGreaterThan(0);
    }
    // Every snapshot along the way within the bound, and the bound not vacuous: the fill reaches a good share.
    expect(largest).toBeLessThanOrEqual(bound);
    expect(largest).toBeGreaterThan(bound / 10);
    // A restored engine holds the same within its own (smaller) limits.
    const smaller = {
      ...limits,
      maxSessions: 10,
      maxTargets: 100,
      maxPartialMatches: 200,
      maxSuppressions: 10,
    };
    const restored = createEngine({ rules: bundledRules(), clock: () => now, limits: smaller });
    restored.restore(JSON.parse(JSON.stringify(engine.snapshot())));
    const after = restored.stats();
    expect(after.state.sessions).toBeLessThanOrEqual(10);
    expect(after.state.targets).toBeLessThanOrEqual(100);
    expect(after.state.partialMatches).toBeLessThanOrEqual(200);
    expect(after.state.suppressions).toBeLessThanOrEqual(10);
    expect(jsonBytes(restored.snapshot())).toBeLessThanOrEqual(snapshotBound(smaller, record).bytes);
  });

  it('reports the largest snapshot the default limits allow', () => {
    const bound = snapshotBound(DEFAULT_LIMITS, DEFAULT_RECORD_LIMITS);
    // docs/security.md quotes these figures.
    const parts = bound.sessions + bound.correlation + bound.suppressions + bound.dedupe;
    expect(bound.bytes - parts).toBeLessThan(200);
    expect(Math.round(bound.bytes / 2 ** 20)).toBe(1_242);
  });
});
