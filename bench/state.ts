/**
 * npm run bench:state — what an incremental checkpoint costs, and a restore, against the state it holds.
 *
 * For each state size (BENCH_STATE_SESSIONS, default 1000,100000 sessions in one partition engine, bundled
 * rules, two file reads per session), after a first checkpoint of the whole state: BENCH_STATE_ROUNDS rounds
 * (default 5) in which BENCH_STATE_CHANGED sessions (default 100,1000) each get one more event, then a
 * checkpoint. Reported per round (median): entries and bytes written, wall time of the checkpoint, and the
 * longest the event loop was blocked meanwhile (perf_hooks event-loop delay, max). Beside it, in the same
 * run, what the whole-state checkpoint of earlier versions cost for the same state (engine.snapshot() and
 * the gzip JSON lines codec, all on this thread). Then the partition is restored by a new engine from the
 * store, twice: through the same client (caught up already), then through a new one, which reads the whole
 * topic or bucket as a restarted processor does: restore seconds (what edr_processor_restore_seconds reports).
 *
 * The store is the Kafka state topic (compacted) where KAFKA_BROKERS is set, NATS JetStream KV where only
 * NATS_URL is, else in memory. Machine, load average and store are printed.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Envelope, loadRules, parseRecord } from '../engine/index.ts';
import { encodeSnapshot } from '../processor/checkpoint-codec.ts';
import {
  type PartitionEngine,
  PartitionEngines,
  type RestoreOutcome,
} from '../processor/partition-engines.ts';
import { REPO_ROOT } from '../test/support/shared.ts';
import { type CheckpointStore, createTransport, MemoryCheckpointStore } from '../transport/index.ts';
import { dropTransportResources, isolatedTransportConfig, silentLogger } from '../transport/testing/index.ts';

const SIZES = (process.env.BENCH_STATE_SESSIONS ?? '1000,100000').split(',').map(Number);
const CHANGED = (process.env.BENCH_STATE_CHANGED ?? '100,1000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_STATE_ROUNDS ?? 5);

const rules = (() => {
  const loaded = loadRules([join(REPO_ROOT, 'rules')]);
  if (!loaded.ok) throw new Error('bundled rules do not load');
  return loaded.value;
})();
const start = Date.now() - 10 * 60_000;
const clock = () => Date.now();

function fileRead(session: number, serial: number): Envelope {
  const parsed = parseRecord({
    eventId: `e-${session}-${serial}`,
    eventType: 'file_read',
    timestamp: new Date(start + serial).toISOString(),
    sessionId: `session-${session}`,
    data: {
      type: 'file',
      path: `/work/project/src/module-${session % 97}/file-${serial}.ts`,
      operation: 'read',
    },
    metadata: { source: 'bench', agentId: `agent-${session % 500}` },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value;
}

interface Stores {
  store: CheckpointStore;
  kind: string;
  /** A store of another client on the same topic or bucket, as a restarted processor opens: it reads it all. */
  fresh: () => { store: CheckpointStore; close: () => Promise<void> };
  close: () => Promise<void>;
}

function storeFor(): Stores {
  const kind = process.env.KAFKA_BROKERS ? 'kafka' : process.env.NATS_URL ? 'nats' : undefined;
  if (!kind) {
    const store = new MemoryCheckpointStore();
    return {
      store,
      kind: 'memory',
      fresh: () => ({ store, close: async () => undefined }),
      close: async () => undefined,
    };
  }
  // The first checkpoint writes the whole state: give its requests time on a loaded machine.
  const config = isolatedTransportConfig(kind, { publishTimeoutMs: 120_000 });
  const open = () => {
    const transport = createTransport(config, { logger: silentLogger });
    return { store: transport.createCheckpointStore(), close: () => transport.close() };
  };
  const { store, close } = open();
  return {
    store,
    kind:
      kind === 'kafka'
        ? `Kafka state topic at ${process.env.KAFKA_BROKERS}`
        : `NATS KV at ${process.env.NATS_URL}`,
    fresh: open,
    close: async () => {
      await close();
      await dropTransportResources(config);
    },
  };
}

function engines(store: CheckpointStore, group: string, onRestore?: (outcome: RestoreOutcome) => void) {
  return new PartitionEngines({
    inputs: () => ({ rules, intel: undefined, assets: undefined }),
    clock,
    checkpoints: store,
    group,
    decode: () => [],
    onRestore: (_, outcome) => onRestore?.(outcome),
  });
}

interface Measured {
  entries: number;
  bytes: number;
  ms: number;
  blockedMs: number;
}

async function measuredCheckpoint(partition: PartitionEngine): Promise<Measured> {
  let written = { entries: 0, bytes: 0 };
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const began = performance.now();
  await partition.checkpoint().then(() => {
    written = partition.lastWritten;
  });
  const ms = performance.now() - began;
  delay.disable();
  return { ...written, ms, blockedMs: delay.max / 1e6 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const fmt = (value: number, digits = 1) => value.toLocaleString('en-US', { maximumFractionDigits: digits });

async function main(): Promise<void> {
  const { store, kind, fresh, close } = storeFor();
  console.log(
    `bench:state — machine: ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown'}, node ${process.version}; load average ${loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')}; store: ${kind}`,
  );
  try {
    for (const sessions of SIZES) {
      const group = `bench-${randomUUID().slice(0, 8)}`;
      const partition = await engines(store, group).forPartition('events/0');
      let serial = 0;
      for (let from = 0; from < sessions; from += 10_000) {
        const batch: Envelope[] = [];
        for (let session = from; session < Math.min(sessions, from + 10_000); session++) {
          batch.push(fileRead(session, serial++), fileRead(session, serial++));
        }
        partition.engine.processBatch(batch);
      }
      const first = await measuredCheckpoint(partition);
      console.log(
        `${fmt(sessions)} sessions: first checkpoint (whole state as entries) ${fmt(first.entries)} entries, ${fmt(first.bytes / 1024)} KiB, ${fmt(first.ms)} ms, event loop blocked ≤ ${fmt(first.blockedMs)} ms; stored ${fmt(partition.lastWritten.storedBytes / 1024)} KiB`,
      );
      for (const changed of CHANGED.filter((count) => count <= sessions)) {
        const rounds: Measured[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const batch: Envelope[] = [];
          for (let index = 0; index < changed; index++) {
            batch.push(fileRead(((round + 1) * 7919 * (index + 1)) % sessions, serial++));
          }
          partition.engine.processBatch(batch);
          rounds.push(await measuredCheckpoint(partition));
        }
        console.log(
          `${fmt(sessions)} sessions, ${fmt(changed)} changed per interval: checkpoint writes ${fmt(median(rounds.map((r) => r.entries)))} entries, ${fmt(median(rounds.map((r) => r.bytes)) / 1024)} KiB in ${fmt(median(rounds.map((r) => r.ms)))} ms, event loop blocked ≤ ${fmt(median(rounds.map((r) => r.blockedMs)))} ms (median of ${ROUNDS})`,
        );
      }
      const wholeBegan = performance.now();
      const whole = await encodeSnapshot(partition.engine.snapshot());
      console.log(
        `${fmt(sessions)} sessions: the whole-state checkpoint of earlier versions, same state: ${fmt(whole.byteLength / 1024)} KiB gzip in ${fmt(performance.now() - wholeBegan)} ms on the event loop, at every interval whatever changed`,
      );
      const restored = async (from: CheckpointStore, what: string) => {
        const outcomes: RestoreOutcome[] = [];
        await engines(from, group, (outcome) => outcomes.push(outcome)).forPartition('events/0');
        const restore = outcomes[0]!;
        console.log(
          `${fmt(sessions)} sessions: restore from ${what} ${fmt(restore.seconds, 3)} s (${restore.restored ? `${fmt(restore.entries)} entries from the ${restore.from}` : restore.reason})`,
        );
      };
      await restored(store, 'the store');
      const other = fresh();
      try {
        await restored(other.store, 'a new client of the store (reads it whole, as after a restart)');
      } finally {
        await other.close();
      }
    }
  } finally {
    await close();
  }
  console.log(
    `load average at the end: ${loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')}`,
  );
}

await main();
