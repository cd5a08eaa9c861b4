import { afterEach, describe, expect, it, vi } from 'vitest';
import { HecReceiver, type HecTokenOptions, splitConcatenatedJson } from '../../test/support/hec-receiver.ts';
import { makeAlert, makeEnvelope } from '../../test/support/sink-items.ts';
import { MemoryDeadLetterWriter } from '../driver/dead-letter.ts';
import { SinkRouter } from '../router.ts';
import { routeFor } from '../shared/config.ts';
import { type SplunkHecSinkConfig, SplunkHecSinkConfigSchema } from './config.ts';
import { SplunkHecSink } from './sink.ts';

const TOKEN = '11111111-2222-3333-4444-555555555555';

describe('Splunk HEC sink (against the protocol-faithful receiver)', () => {
  let receiver: HecReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
  });

  async function setup(
    tokens: Record<string, HecTokenOptions>,
    overrides: Record<string, unknown> = {},
    ackAfterPolls = 2,
  ) {
    receiver = await HecReceiver.start(tokens, { ackAfterPolls });
    const config: SplunkHecSinkConfig = SplunkHecSinkConfigSchema.parse({
      type: 'splunk_hec',
      url: receiver.url,
      token: TOKEN,
      host: 'edr-test',
      delivery: { batchSize: 3, retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 } },
      ...overrides,
    });
    const sink = new SplunkHecSink(config, { sleep: async () => {} });
    const deadLetters = new MemoryDeadLetterWriter();
    const router = new SinkRouter([routeFor(sink, config)], { deadLetters });
    return { router, deadLetters, receiver, sink };
  }

  it('sends gzipped batches of concatenated HEC events with time, host, source, sourcetype and index', async () => {
    const { router, receiver: hec } = await setup(
      { [TOKEN]: { indexes: ['edr', 'edr_alerts'] } },
      {
        index: 'edr',
        alertIndex: 'edr_alerts',
      },
    );
    const events = Array.from({ length: 4 }, () => makeEnvelope());
    const alert = makeAlert();

    const report = await router.deliver({ events, alerts: [alert] });

    expect(report).toMatchObject({ written: 5, deadLettered: 0 });
    // Two batches (batchSize 3), sent concurrently: either may arrive first.
    expect(hec.log.map((entry) => [entry.gzip, entry.code, entry.events]).sort()).toEqual([
      [true, 0, 2],
      [true, 0, 3],
    ]);
    const first = hec.events.find(
      (received) => received.event && (received.event as { eventId?: string }).eventId === events[0]!.eventId,
    );
    expect(first).toMatchObject({
      token: TOKEN,
      index: 'edr',
      time: 1773480413.589,
      host: 'edr-test',
      source: 'clawdstrike-edr',
      sourcetype: 'clawdstrike:event',
      event: events[0],
    });
    expect(hec.events.find((event) => event.sourcetype === 'clawdstrike:alert')).toMatchObject({
      index: 'edr_alerts',
      event: alert,
    });
    await router.close();
  });

  /** Delivers, waits until `sends` requests went out, then stops the retries: what did the batch become? */
  async function heldBack(router: SinkRouter, hec: HecReceiver, sends: number) {
    const delivered = router.deliver({ events: [makeEnvelope(), makeEnvelope()] });
    await vi.waitFor(() => expect(hec.log.length).toBeGreaterThanOrEqual(sends));
    const health = router.health();
    router.interruptRetries();
    await expect(delivered).rejects.toThrow(/stopped waiting/);
    return health.routes[0]!;
  }

  it('holds the batch, not ready, for an unknown token (code 4) or bad authorization (code 3): never dead-letters', async () => {
    const { router, deadLetters, receiver: hec } = await setup({ 'another-token': {} });
    expect(await heldBack(router, hec, 3)).toEqual({
      name: 'splunk_hec',
      ready: false,
      reason: 'HEC code 4 (HTTP 403): Invalid token',
    });
    expect(deadLetters.letters).toEqual([]);
    await router.close();

    const missing = await setup({ [TOKEN]: {} }, { token: ' ' });
    expect((await heldBack(missing.router, missing.receiver, 2)).reason).toBe(
      'HEC code 3 (HTTP 401): Invalid authorization',
    );
    expect(missing.deadLetters.letters).toEqual([]);
    await missing.router.close();
  });

  it('retries with backoff while HEC is busy (503, code 9), then lands the batch', async () => {
    const { router, receiver: hec } = await setup({ [TOKEN]: {} });
    hec.busy(2);
    const report = await router.deliver({ events: [makeEnvelope(), makeEnvelope()] });
    expect(report).toMatchObject({ written: 2, deadLettered: 0 });
    expect(hec.log.map((entry) => entry.code)).toEqual([9, 9, 0]);
    expect(hec.events).toHaveLength(2);
    await router.close();
  });

  it('dead-letters only the event HEC names in invalid-event-number and resends the others', async () => {
    const {
      router,
      deadLetters,
      receiver: hec,
    } = await setup(
      { [TOKEN]: { indexes: ['edr'] } },
      {
        index: 'edr',
        alertIndex: 'forbidden',
      },
    );
    const events = [makeEnvelope(), makeEnvelope()];
    const alert = makeAlert();
    const report = await router.deliver({ events: [events[0]!], alerts: [alert] });
    expect(report).toMatchObject({ written: 1, deadLettered: 1 });
    expect(hec.log.map((entry) => entry.code)).toEqual([7, 0]);
    expect(deadLetters.letters[0]).toMatchObject({ id: alert.alertId, kind: 'alert' });
    expect(deadLetters.letters[0]!.reason).toBe('HEC code 7 (HTTP 400): Incorrect index');
    await router.close();
  });

  it('with indexer acknowledgement, confirms a batch only once its ackId is acknowledged', async () => {
    const {
      router,
      receiver: hec,
      sink,
    } = await setup(
      { [TOKEN]: { ack: true } },
      {
        ack: { enabled: true, pollIntervalMs: 1 },
      },
    );
    const report = await router.deliver({ events: [makeEnvelope(), makeEnvelope()] });
    expect(report).toMatchObject({ written: 2 });
    expect(sink.channel).toMatch(/^[0-9a-f-]{36}$/);
    // One send, then polls until the receiver reports the ackId done (on the second poll).
    expect(hec.log.map((entry) => entry.path)).toEqual([
      '/services/collector/event',
      '/services/collector/ack',
      '/services/collector/ack',
    ]);
    await router.close();
  });

  it('resends when an acknowledgement does not come in time (at-least-once), for as long as it takes', async () => {
    const never = Number.MAX_SAFE_INTEGER;
    const {
      router,
      deadLetters,
      receiver: hec,
    } = await setup(
      { [TOKEN]: { ack: true } },
      { ack: { enabled: true, pollIntervalMs: 1, timeoutMs: 20 } },
      never,
    );
    const delivered = router.deliver({ events: [makeEnvelope()] });
    await vi.waitFor(() => expect(hec.events.length).toBeGreaterThanOrEqual(4));
    router.interruptRetries();
    await expect(delivered).rejects.toThrow(/stopped waiting/);
    expect(deadLetters.letters).toEqual([]);
    await router.close();
  });

  it('holds the batch, not ready, when the token requires a channel the sink does not send (code 10)', async () => {
    const { router, deadLetters, receiver: hec } = await setup({ [TOKEN]: { ack: true } });
    expect((await heldBack(router, hec, 2)).reason).toBe('HEC code 10 (HTTP 400): Data channel is missing');
    expect(deadLetters.letters).toEqual([]);
    await router.close();
  });
});

describe('HEC receiver parsing', () => {
  it('splits concatenated JSON objects with or without separators and finds the bad one', () => {
    expect(splitConcatenatedJson('{"event":"a"}{"event":"}{"}\n{"event":{"x":1}}').values).toEqual([
      { event: 'a' },
      { event: '}{' },
      { event: { x: 1 } },
    ]);
    expect(splitConcatenatedJson('{"event":1} nonsense {"event":2}')).toEqual({
      values: [{ event: 1 }],
      invalidAt: 1,
    });
  });
});
