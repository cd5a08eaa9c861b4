/**
 * npm run bench:state-size — what live sessions cost a processor: heap and checkpoint bytes per 10k sessions.
 *
 * One engine with the bundled rules (as one partition of the processor holds), fed BENCH_SESSIONS_LIST
 * (default "10000,100000") sessions of BENCH_EVENTS_PER_SESSION (default 20) benign coding-agent events each
 * (file reads and writes, commands, tool calls, egress to an allowlisted host, the kinds the simulator sends).
 * Reported per step: heap used after GC above the empty engine, and the engine snapshot as the processor
 * checkpoints it (processor/checkpoint-codec.ts: JSON, gzip). Run with --expose-gc (the npm script does).
 */
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createEngine, loadRules, parseRecord, timestampMillis } from '../engine/index.ts';
import { encodeSnapshot } from '../processor/checkpoint-codec.ts';

const SESSIONS = (process.env.BENCH_SESSIONS_LIST ?? '10000,100000').split(',').map(Number);
const EVENTS_PER_SESSION = Number(process.env.BENCH_EVENTS_PER_SESSION ?? 20);
const RULES_DIR = fileURLToPath(new URL('../rules', import.meta.url));

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:state-size)');
const heapBytes = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

function event(session: number, step: number, at: number): Record<string, unknown> {
  const common = {
    eventId: `evt-${session}-${step}`,
    timestamp: new Date(at).toISOString(),
    sessionId: `sess-${session}`,
    metadata: { agentId: `agent-${session % 1_000}`, source: 'mcp' },
  };
  switch (step % 5) {
    case 0:
      return {
        ...common,
        eventType: 'file_read',
        data: { type: 'file', path: `/srv/app/src/m${step}.ts`, operation: 'read' },
      };
    case 1:
      return {
        ...common,
        eventType: 'file_write',
        data: { type: 'file', path: `/srv/app/src/m${step}.ts`, operation: 'write' },
      };
    case 2:
      return {
        ...common,
        eventType: 'command_exec',
        data: { type: 'command', command: 'npm', args: ['test'] },
      };
    case 3:
      return {
        ...common,
        eventType: 'tool_call',
        data: { type: 'tool', toolName: 'mcp__github__search', parameters: { q: 'is:open' } },
      };
    default:
      return {
        ...common,
        eventType: 'network_egress',
        data: { type: 'network', host: 'registry.example.com', port: 443 },
      };
  }
}

const loaded = loadRules([RULES_DIR]);
if (!loaded.ok) throw new Error(`bundled rules do not load: ${JSON.stringify(loaded.error)}`);
const lines: string[] = [];
for (const sessions of SESSIONS) {
  let now = Date.now() - 10 * 60_000;
  const engine = createEngine({ rules: loaded.value, clock: () => now });
  const empty = heapBytes();
  const started = now;
  for (let step = 0; step < EVENTS_PER_SESSION; step++) {
    for (let session = 0; session < sessions; session++) {
      const parsed = parseRecord(event(session, step, started + step * 1_000));
      if (!parsed.ok) throw new Error(`the bench's event does not parse: ${JSON.stringify(parsed.error)}`);
      now = timestampMillis(parsed.value.timestamp);
      engine.process(parsed.value);
    }
  }
  const heap = heapBytes() - empty;
  const snapshot = await encodeSnapshot(engine.snapshot());
  const stats = engine.stats();
  const per10k = (bytes: number) => ((bytes / sessions) * 10_000) / 2 ** 20;
  lines.push(
    `${sessions} sessions × ${EVENTS_PER_SESSION} events: heap +${(heap / 2 ** 20).toFixed(1)} MiB (${per10k(heap).toFixed(1)} MiB per 10k sessions), ` +
      `checkpoint ${(snapshot.byteLength / 2 ** 20).toFixed(2)} MiB gzip (${per10k(snapshot.byteLength).toFixed(2)} MiB per 10k sessions); ` +
      `engine stats ${JSON.stringify(stats)}`,
  );
  console.log(lines.at(-1));
}
console.log(
  `machine: ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}, load ${loadavg()[0]!.toFixed(1)}`,
);
