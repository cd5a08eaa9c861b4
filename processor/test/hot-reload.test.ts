import { randomUUID } from 'node:crypto';
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  alertOf,
  capturingLogger,
  eventRecords,
  metricValue,
  pipelineFixture,
  processorConfig,
  scrapeMetrics,
  startProcessor,
  useCleanup,
  waitForEventsProcessed,
} from '../../test/support/pipeline.ts';
import { expectedAlerts, referenceScenario, type WireEvent } from '../../test/support/scenarios.ts';
import { REPO_ROOT } from '../../test/support/shared.ts';
import type { Message } from '../../transport/index.ts';
import { collect } from '../../transport/testing/index.ts';

const CANARY_RULE = `rules:
  - id: EDR_TEST_CANARY
    name: Canary tool call
    description: Added while the processor runs; fires on one made-up tool.
    severity: high
    actions: [alert_soc]
    type: match
    condition:
      all:
        - { fact: eventType, operator: equal, value: tool_call }
        - { fact: data.toolName, operator: equal, value: edr_canary }
    summary: "canary in {sessionId}"
`;
const BROKEN_RULE = `rules:
  - id: EDR_TEST_BROKEN
    type: match
    condition: { all: [{ fact: eventType, operator: no_such_operator, value: 1 }] }
`;

describe('hot reload of rule files (NATS)', () => {
  const defer = useCleanup();

  it('applies a new rule file, rejects a broken one keeping the running rules, and reloads on SIGHUP', async () => {
    const { config, publisher, directory } = await pipelineFixture(defer, 'nats', 'reload');
    const producer = publisher.createProducer();
    const rules = join(directory, 'rules');
    await cp(join(REPO_ROOT, 'rules'), rules, { recursive: true });

    const { log, lines } = capturingLogger();
    const processor = await startProcessor(
      processorConfig(config, {
        group: `reload-${randomUUID()}`,
        directory,
        processor: { rules: [rules], watch: true },
      }),
      log,
    );
    defer(() => processor.stop());
    const reloads = async (result: 'ok' | 'failed') =>
      metricValue(await scrapeMetrics(processor.address), 'edr_processor_reloads_total', { result });
    const waitForReloads = (result: 'ok' | 'failed', atLeast: number) =>
      vi.waitFor(
        async () => {
          const count = await reloads(result);
          if (count < atLeast) throw new Error(`${count} reloads ${result}, want ${atLeast}`);
        },
        { timeout: 15_000, interval: 100 },
      );

    const runId = randomUUID().slice(0, 8);
    let sent = 0;
    const send = async (events: readonly WireEvent[]) => {
      await producer.publish(eventRecords(events));
      sent += events.length;
      await waitForEventsProcessed(processor.address, sent);
    };
    const canary = (session: string): WireEvent => ({
      eventId: `evt-${runId}-${session}`,
      eventType: 'tool_call',
      timestamp: new Date().toISOString(),
      sessionId: `sess-${session}-${runId}`,
      data: { type: 'tool', toolName: 'edr_canary', parameters: {} },
      metadata: { source: 'test', agentId: `agent-${runId}` },
    });

    await send([canary('before')]);

    await writeFile(join(rules, 'canary.yaml'), CANARY_RULE);
    await waitForReloads('ok', 1);
    await send([canary('added')]);

    await writeFile(join(rules, 'broken.yaml'), BROKEN_RULE);
    await waitForReloads('failed', 1);
    const rejected = lines.find((line) => line.msg === 'reload rejected; the running rules stay in force');
    expect(rejected?.level, 'logged at error level').toBe(50);
    expect(JSON.stringify(rejected?.problems)).toContain('broken.yaml');
    // The running rules stay: the added rule and the bundled ones still fire.
    const attack = referenceScenario({
      runId,
      sessionsPerRule: 1,
      startMs: Date.now() - 10 * 60_000,
      benignPerSession: 0,
    }).filter((event) => String(event.sessionId).includes('credential_exfiltration'));
    await send([canary('kept'), ...attack]);

    await rm(join(rules, 'broken.yaml'));
    const okBeforeSignal = await reloads('ok');
    process.kill(process.pid, 'SIGHUP');
    await vi.waitFor(
      () =>
        expect(
          lines.some((line) => line.reason === 'SIGHUP' && line.msg === 'detection inputs reloaded'),
        ).toBe(true),
      { timeout: 15_000, interval: 100 },
    );
    expect(await reloads('ok')).toBeGreaterThan(okBeforeSignal);

    const sessionsAlerted = (messages: readonly Message[]) =>
      new Set(
        messages
          .map(alertOf)
          .filter((alert) => alert.ruleId === 'EDR_TEST_CANARY')
          .map((alert) => alert.sessionId),
      );
    const attackAlerts = expectedAlerts(attack).map((alert) => alert.alertId);
    const alerts = await collect(publisher, 'alerts', {
      until: (messages) =>
        sessionsAlerted(messages).size >= 2 &&
        attackAlerts.every((id) => messages.some((message) => alertOf(message).alertId === id)),
    });
    expect(sessionsAlerted(alerts)).toEqual(new Set([`sess-added-${runId}`, `sess-kept-${runId}`]));
  });
});
