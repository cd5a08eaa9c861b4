/**
 * Splunk's own Node library, splunk-logging 0.11.1, unmodified and with its default settings, against a
 * collector publishing to the real Kafka: what it sends lands, counted by eventId in the topic. Its
 * default payload is `{"time": "<epoch s.ms>", "event": {"message": <what it was given>, "severity":
 * "info"}}` posted as application/x-www-form-urlencoded to /services/collector/event/1.0.
 */
import type { AddressInfo } from 'node:net';
import { Logger, type SendCallback, type SendContext } from 'splunk-logging';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BrokerCollector, brokerCollectors } from '../../collector/test/brokers.ts';
import { KEYS, samples } from '../../collector/test/support.ts';
import { brokerAddress } from '../../transport/testing/index.ts';
import { landedCounts, once } from './hec-support.ts';

interface Sent {
  status: number | undefined;
  body: unknown;
}

/** One send through the library; resolves with what HEC answered (the library only logs failures). */
function sendWith(logger: Logger, context: SendContext): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const done: SendCallback = (error, response, body) =>
      error ? reject(error) : resolve({ status: response?.statusCode, body });
    logger.send(context, done);
  });
}

/** A logger as an application would configure it: only the token and where HEC is. */
function defaultLogger(url: string, settings: { maxBatchCount?: number } = {}): Logger {
  const logger = new Logger({ token: KEYS.ingest, url, ...settings });
  // The library writes every HEC error to the console; the tests read the reply instead.
  logger.error = () => {};
  return logger;
}

describe('splunk-logging → collector → Kafka', () => {
  brokerAddress('kafka');
  const open = brokerCollectors();
  let collector: BrokerCollector;
  let url: string;

  beforeAll(async () => {
    collector = await open('kafka');
    await collector.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(collector.app.server.address() as AddressInfo).port}`;
  });

  it('its default payload lands: a record as the message, as an object and as a JSON string', async () => {
    const logger = defaultLogger(url);
    const asObject = await sendWith(logger, { message: samples.policyEvent('sl-object') });
    const asText = await sendWith(logger, { message: JSON.stringify(samples.auditEvent('sl-text')) });
    const withMetadata = await sendWith(logger, {
      message: samples.securityEvent('sl-metadata'),
      severity: 'warn',
      metadata: {
        time: 1_764_583_200.25,
        host: 'build-7',
        source: 'agent',
        sourcetype: 'hushd',
        index: 'edr',
      },
    });
    for (const sent of [asObject, asText, withMetadata]) {
      expect(sent).toEqual({ status: 200, body: { text: 'Success', code: 0 } });
    }
    const ids = ['sl-object', 'sl-text', 'sl-metadata'];
    expect(await landedCounts(collector, ids)).toEqual(once(ids));
  });

  it('a batch with an invalid event, resent from the failure point, lands each event exactly once', async () => {
    const ids = ['sl-batch-0', 'sl-batch-1', 'sl-batch-3', 'sl-batch-4'];
    const batch = [
      samples.policyEvent(ids[0]!),
      samples.policyEvent(ids[1]!),
      { not: 'a record the pipeline reads' },
      samples.policyEvent(ids[2]!),
      samples.policyEvent(ids[3]!),
    ];
    const batching = defaultLogger(url, { maxBatchCount: batch.length });
    for (const message of batch.slice(0, -1)) batching.send({ message });
    const first = await sendWith(batching, { message: batch.at(-1) });
    expect(first).toEqual({
      status: 400,
      body: { text: 'Invalid data format', code: 6, 'invalid-event-number': 2 },
    });
    // What a Splunk client does with that answer: events before 2 are indexed, 2 is bad, resend the rest.
    const failed = (first.body as { 'invalid-event-number': number })['invalid-event-number'];
    const rest = batch.slice(failed + 1);
    const resending = defaultLogger(url, { maxBatchCount: rest.length });
    for (const message of rest.slice(0, -1)) resending.send({ message });
    expect(await sendWith(resending, { message: rest.at(-1) })).toEqual({
      status: 200,
      body: { text: 'Success', code: 0 },
    });
    expect(await landedCounts(collector, ids)).toEqual(once(ids));
  });
});
