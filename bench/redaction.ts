/**
 * The cost of secret redaction (transforms/) per event and per alert, on the bench:engine corpus: its
 * records normalized with parseRecord and run through the engine with the bundled rules (untimed), then the
 * batches' events and alerts redacted (timed), as the processor does between detection and delivery.
 *
 *   npx tsx bench/redaction.ts [--events 200000] [--batch 2000] [--passes 3]
 *
 * Prints the median pass: µs per event (alerts included in the time), events/s, and how many events and
 * alerts had something replaced; for scale, the µs per event of parseRecord + engine in the same process
 * (one cold pass, so it reads high next to bench:engine). Results go to stdout.
 */
import { parseArgs } from 'node:util';
import { BUNDLED_RULES } from '../cli/lib/inputs.ts';
import { type Alert, createEngine, type Envelope, loadRules, parseRecord } from '../engine/index.ts';
import { RedactionConfigSchema, Redactor } from '../transforms/index.ts';
import { CORPUS_START, corpusBatches } from './engine-corpus.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '2000' },
    passes: { type: 'string', default: '3' },
  },
});
const TOTAL = Number(values.events);
const BATCH = Number(values.batch);
const PASSES = Math.max(1, Number(values.passes));

const rules = loadRules([BUNDLED_RULES]);
if (!rules.ok) throw new Error(`bundled rules do not load: ${JSON.stringify(rules.error)}`);
let now = CORPUS_START;
const engine = createEngine({ rules: rules.value, clock: () => now });
const batches: Array<{ events: Envelope[]; alerts: Alert[] }> = [];
let engineMs = 0;
for (const raw of corpusBatches(TOTAL, BATCH)) {
  const events: Envelope[] = [];
  const alerts: Alert[] = [];
  const started = performance.now();
  for (const record of raw) {
    const parsed = parseRecord(record);
    if (!parsed.ok) continue;
    now = Date.parse(parsed.value.timestamp);
    events.push(parsed.value);
    alerts.push(...engine.process(parsed.value));
  }
  engineMs += performance.now() - started;
  batches.push({ events, alerts });
}
const eventCount = batches.reduce((sum, batch) => sum + batch.events.length, 0);
const alertCount = batches.reduce((sum, batch) => sum + batch.alerts.length, 0);

function pass(): { ms: number; events: number; alerts: number } {
  const redactor = new Redactor(RedactionConfigSchema.parse({}), {
    key: Buffer.from('bench-redaction-key-0123456789'),
    fallbackRules: [BUNDLED_RULES],
  });
  let changedEvents = 0;
  let changedAlerts = 0;
  const started = performance.now();
  for (const batch of batches) {
    const out = redactor.redact(batch, rules.ok ? rules.value : undefined);
    for (let i = 0; i < out.events.length; i++) if (out.events[i] !== batch.events[i]) changedEvents++;
    for (let i = 0; i < out.alerts.length; i++) if (out.alerts[i] !== batch.alerts[i]) changedAlerts++;
  }
  return { ms: performance.now() - started, events: changedEvents, alerts: changedAlerts };
}

pass(); // warm-up: the JIT and the detectors' RE2 state
const passes = Array.from({ length: PASSES }, pass).sort((a, b) => a.ms - b.ms);
const median = passes[Math.floor(passes.length / 2)]!;
const micros = (median.ms * 1000) / eventCount;
console.log(`corpus: ${eventCount} events, ${alertCount} alerts, batches of ${BATCH}`);
console.log(`passes (ms): ${passes.map((p) => p.ms.toFixed(0)).join(', ')}`);
console.log(
  `redaction: ${micros.toFixed(2)} µs per event (alerts included), ${Math.round(eventCount / (median.ms / 1000)).toLocaleString('en-US')} events/s`,
);
console.log(
  `for scale, parseRecord + engine on the same events, first run: ${((engineMs * 1000) / eventCount).toFixed(2)} µs per event`,
);
console.log(`redacted: ${median.events} events, ${median.alerts} alerts had something replaced`);
