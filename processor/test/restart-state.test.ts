import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BROKERS } from '../../collector/test/brokers.ts';
import {
  alertIdsOf,
  alertOf,
  coversAlerts,
  eventRecords,
  eventsProcessed,
  pipelineFixture,
  processorConfig,
  startProcessor,
  useCleanup,
  waitForEventsProcessed,
} from '../../test/support/pipeline.ts';
import { expectedAlerts, referenceScenario } from '../../test/support/scenarios.ts';
import { collect } from '../../transport/testing/index.ts';

/**
 * One credential-exfiltration session: the credential read (which alone fires a match rule too), then two
 * egresses; the second completes the sequence.
 */
function exfiltrationSession() {
  const events = referenceScenario({
    runId: randomUUID().slice(0, 8),
    sessionsPerRule: 1,
    startMs: Date.now() - 10 * 60_000,
    benignPerSession: 0,
  }).filter((event) => String(event.sessionId).includes('credential_exfiltration'));
  return { events, expected: expectedAlerts(events) };
}

/**
 * One agent session's egress (one session, so one partition): a host 15 and 1 days ago (its 14 days of learning
 * complete), then the same host and a
 * new one now. Only a processor that restored the baseline knows both the host and how long it has watched.
 */
function baselineEvents() {
  const run = randomUUID().slice(0, 8);
  const now = Date.now();
  const egress = (n: number, ago: number, host: string) => ({
    eventId: `evt-${run}-${n}`,
    eventType: 'network_egress',
    timestamp: new Date(now - ago).toISOString(),
    sessionId: `sess-${run}`,
    data: { type: 'network', host, port: 443 },
    metadata: { source: 'test', agentId: `agent-${run}` },
  });
  const day = 86_400_000;
  const events = [
    egress(1, 15 * day, 'api.github.com'),
    egress(2, day, 'api.github.com'),
    egress(3, 60_000, 'api.github.com'),
    egress(4, 30_000, 'c2.attacker.example'),
  ];
  return { events, expected: expectedAlerts(events) };
}

describe.each(BROKERS)('engine state across a processor restart (%s)', (kind) => {
  const defer = useCleanup();

  it('fires a sequence whose first step was seen by the previous processor of the group', async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, kind, 'restart');
    const producer = publisher.createProducer();
    // Same group, same checkpoint store (the compacted state topic / the KV bucket) for both processors.
    const settings = processorConfig(config, { group: `restart-${randomUUID()}`, directory });

    const { events, expected } = exfiltrationSession();
    const [credentialRead, ...egress] = eventRecords(events);
    const sequence = expected.filter((alert) => alert.ruleId === 'CREDENTIAL_EXFILTRATION');
    expect(sequence).toHaveLength(1);
    // Its last event is the second egress, so only the restarted processor can have fired it.
    expect(sequence[0]!.eventIds.at(-1)).toBe(events.at(-1)!.eventId);

    const first = await startProcessor(settings);
    let firstStopped = false;
    defer(() => (firstStopped ? undefined : first.stop()));
    await producer.publish([credentialRead!]);
    await waitForEventsProcessed(first.address, 1);
    await first.stop(); // commits the read and has checkpointed the session state before that
    firstStopped = true;

    const second = await startProcessor(settings);
    defer(() => second.stop());
    await producer.publish(egress);
    await waitForEventsProcessed(second.address, egress.length);
    const alerts = (await collect(publisher, 'alerts', { until: coversAlerts(expected) })).map(alertOf);

    expect(new Set(alertIdsOf(alerts))).toEqual(new Set(alertIdsOf(expected)));
    // The read was not redelivered: the second processor knew it only from the restored checkpoint.
    expect(await eventsProcessed(second.address)).toBe(egress.length);
  });

  it('keeps a new_terms baseline learned by the previous processor of the group', async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, kind, 'restart-baseline');
    const producer = publisher.createProducer();
    const settings = processorConfig(config, { group: `restart-baseline-${randomUUID()}`, directory });
    const { events, expected } = baselineEvents();
    const records = eventRecords(events);
    const newHost = expected.filter((alert) => alert.ruleId === 'NEW_EGRESS_HOST');
    expect(newHost.map((alert) => alert.eventIds)).toEqual([[events[3]!.eventId]]);

    const first = await startProcessor(settings);
    let firstStopped = false;
    defer(() => (firstStopped ? undefined : first.stop()));
    await producer.publish(records.slice(0, 2));
    await waitForEventsProcessed(first.address, 2);
    await first.stop();
    firstStopped = true;

    // A processor starting without the baseline would be learning again, and raise no NEW_EGRESS_HOST at all.
    const second = await startProcessor(settings);
    defer(() => second.stop());
    await producer.publish(records.slice(2));
    await waitForEventsProcessed(second.address, 2);
    const alerts = (await collect(publisher, 'alerts', { until: coversAlerts(expected) })).map(alertOf);
    expect(new Set(alertIdsOf(alerts))).toEqual(new Set(alertIdsOf(expected)));
    expect(await eventsProcessed(second.address)).toBe(2);
  });
});
