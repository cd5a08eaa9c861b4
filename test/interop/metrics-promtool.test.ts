/**
 * Issue 14, item 9: `promtool check metrics` (Prometheus' own linter; .ci/run installs Debian's `prometheus`
 * package for it) on both live /metrics endpoints, the collector's and the processor's, on Kafka, after
 * traffic that gives the request, record, publish, rate-limit, engine and sink families samples.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { buildCollector } from '../../collector/index.ts';
import { bearer, collectorConfig, NDJSON_TYPE, ndjson } from '../../collector/test/support.ts';
import { ScriptedHttpServer } from '../support/http-server.ts';
import {
  metricValue,
  pipelineFixture,
  processorConfig,
  scrapeMetrics,
  startProcessor,
  useCleanup,
  waitForEventsProcessed,
} from '../support/pipeline.ts';
import { REPO_ROOT } from '../support/shared.ts';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
/** A bundled rule (and the lists it reads) that the traffic below fires: alerts_total gets samples. */
const RULE_FILES = ['credential-exfiltration.json', 'lists.yaml'].map((name) =>
  join(REPO_ROOT, 'rules', name),
);

/** promtool reads the exposition on stdin; clean output is exit code 0 and nothing printed. */
function promtoolCheck(exposition: string): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (run.error) throw new Error(`${PROMTOOL} did not run (.ci/run installs it): ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Families (# TYPE lines) of an exposition and how many samples each has. */
function samplesByFamily(exposition: string): Map<string, number> {
  const families = new Map<string, { type: string; samples: number }>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.set(type[1]!, { type: type[2]!, samples: 0 });
  }
  for (const line of exposition.split('\n')) {
    const name = /^([a-zA-Z_:][\w:]*)[{ ]/.exec(line)?.[1];
    if (!name) continue;
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, '')) ?? undefined;
    if (family) family.samples++;
  }
  return new Map([...families].map(([name, { samples }]) => [name, samples]));
}

const START_MS = Date.now() - 60_000;
const at = (second: number) => new Date(START_MS + second * 1000).toISOString();
const policyEvent = (id: string, outcome: 'allow' | 'deny') => ({
  eventId: id,
  eventType: 'file_read',
  timestamp: at(Number(id.split('-').at(-1))),
  sessionId: 'sess-promtool',
  data: { type: 'file', path: '/home/alice/.ssh/id_rsa', operation: 'read' },
  decision: { status: outcome, guard: 'forbidden_path', severity: 'high' },
  metadata: { source: 'cli', agentId: 'agent-promtool' },
});

const egress = (id: string) => ({
  ...policyEvent(`${id}-7`, 'allow'),
  eventId: id,
  eventType: 'network_egress',
  data: { type: 'network', host: 'exfil.example', port: 443 },
});

describe('promtool check metrics on both live /metrics endpoints', () => {
  const defer = useCleanup();

  it('finds nothing to report on the collector or the processor, with samples in every family that traffic reaches', async () => {
    const { config, directory } = await pipelineFixture(defer, 'kafka', 'promtool');
    const run = randomUUID().slice(0, 8);
    const collector = await buildCollector(
      collectorConfig({
        transport: config as unknown as Record<string, unknown>,
        // Small enough that the third request of one key is refused: rate_limited_total gets a sample.
        rateLimit: { enabled: true, perKey: { ratePerSecond: 0.001, burst: 2 } },
      }),
    );
    defer(() => collector.close());
    const collectorUrl = await collector.listen({ host: '127.0.0.1', port: 0 });

    const ids = Array.from({ length: 6 }, (_, index) => `evt-${run}-${index}`);
    const records = [
      ...ids.map((id, index) => policyEvent(id, index % 2 === 0 ? 'deny' : 'allow')),
      egress(`evt-${run}-egress`),
      policyEvent(ids[0]!, 'deny'), // a repeat of the same content: deduplicated
      { eventId: `evt-${run}-bad`, eventType: 'file_read' }, // invalid: rejected
    ];
    const post = (headers: Record<string, string>) =>
      fetch(`${collectorUrl}/v1/events`, { method: 'POST', headers, body: ndjson(records) });
    const answers: Array<{ status: number; body: string }> = [];
    for (const headers of [{ ...bearer(), ...NDJSON_TYPE }, NDJSON_TYPE, { ...bearer(), ...NDJSON_TYPE }]) {
      const response = await post(headers);
      answers.push({ status: response.status, body: await response.text() });
    }
    const limited = await post({ ...bearer(), ...NDJSON_TYPE });
    answers.push({ status: limited.status, body: await limited.text() });
    // 202 with the invalid record refused beside the accepted ones; 401 without a key; 429 past the burst.
    expect(
      answers.map(({ status }) => status),
      JSON.stringify(answers),
    ).toEqual([202, 401, 202, 429]);

    // A webhook receiver that refuses: the alert's webhook is dead-lettered (dead_letters_total, circuit_state).
    const receiver = await ScriptedHttpServer.start(() => ({ status: 400 }));
    defer(() => receiver.close());
    const processor = await startProcessor(
      processorConfig(config, {
        group: `promtool-${run}`,
        directory,
        processor: { checkpoints: false, rules: RULE_FILES },
        sinks: [
          { type: 'file', directory: join(directory, 'sinks') },
          {
            type: 'webhook',
            secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
            actions: { terminate_session: { url: `${receiver.url}/terminate` } },
          },
        ],
      }),
    );
    defer(() => processor.stop());
    await waitForEventsProcessed(processor.address, ids.length + 1);
    expect(await processor.reload()).toBe(true);
    await vi.waitFor(
      async () => {
        const text = await scrapeMetrics(processor.address);
        for (const [name, labels] of [
          ['edr_processor_batches_total', { result: 'ok' }],
          ['edr_sink_dead_letters_total', {}],
        ] as const) {
          if (metricValue(text, name, labels) === 0) throw new Error(`no ${name} yet`);
        }
      },
      { timeout: 30_000, interval: 100 },
    );

    const collectorText = await scrapeMetrics(collectorUrl);
    const processorText = await scrapeMetrics(processor.address);
    // What landed, by count: per accepted request seven distinct records plus a repeat (accepted, published
    // once), twice over; the processor ran the seven.
    expect(metricValue(collectorText, 'edr_collector_records_accepted_total', { protocol: 'events' })).toBe(
      16,
    );
    expect(metricValue(processorText, 'edr_processor_events_total')).toBeGreaterThanOrEqual(ids.length + 1);
    expect(
      metricValue(processorText, 'edr_processor_alerts_total', { rule: 'CREDENTIAL_EXFILTRATION' }),
    ).toBe(1);

    for (const [endpoint, text] of [
      ['collector', collectorText],
      ['processor', processorText],
    ] as const) {
      expect({ endpoint, ...promtoolCheck(text) }).toEqual({ endpoint, status: 0, output: '' });
    }

    // Node's by-type gauges of live handles and requests have a sample per type in use at the scrape, and
    // may have none.
    const empty = (text: string) =>
      [...samplesByFamily(text)]
        .filter(
          ([name, samples]) => samples === 0 && !/_nodejs_active_(handles|requests|resources)$/.test(name),
        )
        .map(([name]) => name);
    expect(empty(collectorText)).toEqual([]);
    // Only the families that need a failure this test does not cause (a checkpoint that fails or is off, a
    // rolled-back batch, a sink delivery sent again), records not keyed by the collector, or rows past a
    // SQLite sink's retention may be left without samples.
    const needsFailure = new Set([
      'edr_processor_checkpoint_bytes',
      'edr_processor_checkpoint_failures_total',
      'edr_processor_rekeyed_records_total',
      'edr_processor_rollbacks_total',
      'edr_processor_sink_redeliveries_total',
      'edr_sink_purged_rows_total',
    ]);
    expect(empty(processorText).filter((name) => !needsFailure.has(name))).toEqual([]);
  });

  it('promtool is a real check: it reports a counter without _total (the old state_evictions name)', () => {
    const exposition = [
      '# HELP edr_processor_state_evictions How often each engine bound bit',
      '# TYPE edr_processor_state_evictions counter',
      'edr_processor_state_evictions{partition="0",kind="sessions"} 3',
      '',
    ].join('\n');
    const result = promtoolCheck(exposition);
    expect(result.output).toMatch(/counter metrics should have "_total" suffix/);
  });
});
