import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRecord } from '../engine/model/index.ts';
import { ATTACK_NAMES } from './attacks.ts';
import { runSimulation, virtualClock } from './runner.ts';
import { eventsUrl, HttpSink, probeTarget, retryAfterMs } from './sender.ts';
import { Simulation } from './simulation.ts';
import { FatalSinkError } from './sink.ts';
import { RunStats } from './stats.ts';
import { type Received, START, startCollector, stopCollector } from './test-support.ts';

let server: Server | undefined;
afterEach(async () => {
  if (server) await stopCollector(server);
  server = undefined;
});

async function simulateInto(url: string, options: { gzip?: boolean } = {}) {
  const stats = new RunStats();
  const sink = new HttpSink({
    target: url,
    apiKey: 'test-key',
    gzip: options.gzip ?? false,
    onRetry: (reason) => stats.noteRetry(reason),
  });
  const { clock, sleep } = virtualClock(START);
  await runSimulation({
    simulation: new Simulation({ seed: 5, agents: 3, attacks: ATTACK_NAMES }),
    sink,
    stats,
    rate: 100,
    durationMs: 10_000,
    batchSize: 250,
    clock,
    sleep,
  });
  return stats;
}

const delivered = (received: Received[]) => received.filter((request) => request.status === 202);

describe('sending to a collector', () => {
  it('posts authenticated NDJSON, resends the same batch after a 503 with Retry-After, and counts what the server saw', async () => {
    const collector = await startCollector(['accept', { status: 503, retryAfter: '1' }]);
    server = collector.server;
    const stats = await simulateInto(collector.url);
    const { received } = collector;

    expect(received[1]!.status).toBe(503);
    expect(received[2]!.lines).toEqual(received[1]!.lines);
    expect(received[2]!.at - received[1]!.at).toBeGreaterThanOrEqual(950);
    for (const request of received) {
      expect(request.headers.authorization).toBe('Bearer test-key');
      expect(request.headers['content-type']).toBe('application/x-ndjson');
      expect(request.lines.length).toBeLessThanOrEqual(250);
    }

    const lines = delivered(received).flatMap((request) => request.lines);
    for (const line of lines) expect(parseRecord(JSON.parse(line)).ok).toBe(true);
    expect(stats.retries).toBe(1);
    expect(stats.sent).toBe(lines.length);
    expect(stats.generated).toBe(lines.length);
    expect(stats.accepted).toBe(lines.length);
    expect(stats.batches).toBe(delivered(received).length);
    expect(stats.rejected + stats.failed).toBe(0);
    expect(Object.values(stats.byFormat).reduce((sum, count) => sum + count, 0)).toBe(lines.length);
    expect(stats.sent).toBeGreaterThanOrEqual(1000);
  });

  it('gzips when asked, waits out a 429, and reports records the collector rejected', async () => {
    const collector = await startCollector([
      { status: 429, retryAfter: '0' },
      'reject-first',
      'reject-first',
    ]);
    server = collector.server;
    const stats = await simulateInto(collector.url, { gzip: true });
    const { received } = collector;

    expect(received.every((request) => request.headers['content-encoding'] === 'gzip')).toBe(true);
    expect(received[1]!.lines).toEqual(received[0]!.lines);
    expect(stats.retries).toBe(1);
    expect(stats.rejected).toBe(2);
    expect(stats.accepted).toBe(delivered(received).reduce((sum, request) => sum + request.accepted, 0));
    expect(stats.errors().get('timestamp: expected a date-time')).toBe(2);
    expect(stats.errors().get('retried: HTTP 429: {"error":"try later"}')).toBe(1);
  });

  it('stops the run when the API key is refused', async () => {
    const collector = await startCollector([{ status: 401 }]);
    server = collector.server;
    const failure = await simulateInto(collector.url).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FatalSinkError);
    expect((failure as Error).message).toMatch(/refused the API key \(HTTP 401/);
    expect(collector.received).toHaveLength(1);
  });

  it('gives a batch up after its attempts and says why', async () => {
    const collector = await startCollector([{ status: 503 }, { status: 503 }]);
    server = collector.server;
    const sink = new HttpSink({
      target: collector.url,
      apiKey: 'k',
      attempts: 2,
      initialDelayMs: 1,
      maxDelayMs: 1,
    });
    const outcome = await sink.send(['{"a":1}', '{"a":2}']);
    expect(outcome).toEqual({
      accepted: 0,
      rejected: 0,
      failed: 2,
      errors: ['batch failed: HTTP 503: {"error":"try later"}'],
    });
  });

  it('tells an unreachable target by its URL', async () => {
    const collector = await startCollector([]);
    await new Promise((resolve) => collector.server.close(resolve));
    // Closed: nothing listens on that port any more.
    const probe = await probeTarget(collector.url);
    expect(probe).toEqual({ ok: false, error: `cannot reach ${collector.url} (ECONNREFUSED)` });
  });
});

describe('sender helpers', () => {
  it('finds /v1/events under a base URL, with or without a trailing slash or the path itself', () => {
    expect(eventsUrl('http://h:8080').href).toBe('http://h:8080/v1/events');
    expect(eventsUrl('http://h:8080/').href).toBe('http://h:8080/v1/events');
    expect(eventsUrl('http://h/edr/').href).toBe('http://h/edr/v1/events');
    expect(eventsUrl('http://h/v1/events').href).toBe('http://h/v1/events');
  });

  it('reads Retry-After as seconds or an HTTP date, capped at a minute', () => {
    const now = Date.parse('2026-03-02T09:00:00Z');
    expect(retryAfterMs('2', now)).toBe(2000);
    expect(retryAfterMs('Mon, 02 Mar 2026 09:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('3600', now)).toBe(60_000);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});
