import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { BROKERS, brokerCollectors, envelopeOf } from '../../collector/test/brokers.ts';
import type { Message, Transport } from '../../transport/index.ts';
import { brokerAddress, collect } from '../../transport/testing/index.ts';

export { KEYS, samples } from '../../collector/test/support.ts';

const [KAFKA] = BROKERS;

/** A collector listening on a port of its own and publishing to its own Kafka topics. */
export interface OtlpCollector {
  /** Where an OTLP/HTTP exporter sends logs. */
  logsUrl: string;
  inject: Awaited<ReturnType<ReturnType<typeof brokerCollectors>>>['app']['inject'];
  transport: Transport;
}

/** Opens collectors on the real Kafka transport; closed, and their topics deleted, after the file. */
export function kafkaCollectors(): (
  overrides?: Parameters<ReturnType<typeof brokerCollectors>>[1],
) => Promise<OtlpCollector> {
  brokerAddress(KAFKA);
  const open = brokerCollectors();
  return async (overrides) => {
    const { app, transport } = await open(KAFKA, overrides);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    return { logsUrl: `http://127.0.0.1:${port}/v1/logs`, inject: app.inject.bind(app), transport };
  };
}

/**
 * How many times each event id landed on `events`, among the ids starting with `prefix`, once every one of
 * `expected` is there (then a little longer, so that a duplicate or a stray record would show).
 */
export async function landed(
  transport: Transport,
  prefix: string,
  expected: readonly string[],
): Promise<Map<string, number>> {
  const ours = (messages: readonly Message[]) =>
    messages.map((message) => envelopeOf(message).eventId).filter((id) => id.startsWith(prefix));
  const messages = await collect(transport, 'events', {
    until: (so) => {
      const ids = new Set(ours(so));
      return expected.every((id) => ids.has(id));
    },
    settleMs: 1_000,
  });
  const counts = new Map<string, number>();
  for (const id of ours(messages)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** Every id exactly once, and nothing else. */
export function expectOnceEach(counts: Map<string, number>, ids: readonly string[]): void {
  expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
}
