import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeAlert, makeEnvelope } from '../test/support/sink-items.ts';
import { SinksConfigSchema } from './config.ts';
import { MemoryDeadLetterWriter } from './driver/dead-letter.ts';
import { SinkRouter } from './router.ts';
import type { DeliveryPolicy, ItemKind, Route, Sink, SinkItem } from './types.ts';
import { itemId, WRITTEN } from './types.ts';

const delivery: DeliveryPolicy = {
  batchSize: 100,
  concurrency: 1,
  maxPendingItems: 1_000,
  retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
  detached: false,
  notReadyAfterMs: 0,
  probeIntervalMs: 60_000,
};

function recordingSink(name: string, write?: Sink['write']): Sink & { received: string[] } {
  const received: string[] = [];
  return {
    name,
    guarantee: 'at-least-once',
    received,
    async write(items: readonly SinkItem[]) {
      received.push(...items.map(itemId));
      return write ? write(items) : items.map(() => WRITTEN);
    },
  };
}

const route = (sink: Sink, kinds: ItemKind[], minSeverity: Route['minSeverity'] = 'info'): Route => ({
  sink,
  kinds,
  minSeverity,
  delivery,
});

describe('SinkRouter', () => {
  it('routes by kind and minimum severity to several sinks at once, and reports per route', async () => {
    const everything = recordingSink('everything');
    const alertsOnly = recordingSink('alerts');
    const severe = recordingSink('severe');
    const router = new SinkRouter(
      [
        route(everything, ['event', 'alert']),
        route(alertsOnly, ['alert']),
        route(severe, ['event', 'alert'], 'high'),
      ],
      { deadLetters: new MemoryDeadLetterWriter() },
    );
    const info = makeEnvelope({ decision: { outcome: 'allow', severity: 'info' } });
    const high = makeEnvelope();
    const alert = makeAlert({ severity: 'medium' });

    const report = await router.deliver({ events: [info, high], alerts: [alert] });

    expect(everything.received).toEqual([info.eventId, high.eventId, alert.alertId]);
    expect(alertsOnly.received).toEqual([alert.alertId]);
    expect(severe.received).toEqual([high.eventId]);
    expect(report).toEqual({
      items: 3,
      unrouted: 0,
      written: 5,
      duplicates: 0,
      deadLettered: 0,
      routes: {
        everything: { written: 3, duplicates: 0, deadLettered: 0 },
        alerts: { written: 1, duplicates: 0, deadLettered: 0 },
        severe: { written: 1, duplicates: 0, deadLettered: 0 },
      },
    });
  });

  it('counts items no route wants as unrouted', async () => {
    const router = new SinkRouter([route(recordingSink('alerts'), ['alert'])], {
      deadLetters: new MemoryDeadLetterWriter(),
    });
    expect(await router.deliver({ events: [makeEnvelope()] })).toMatchObject({ items: 1, unrouted: 1 });
  });

  it('keeps other sinks going while one is down, waits for that one, and reports it in health()', async () => {
    const deadLetters = new MemoryDeadLetterWriter();
    const healthy = recordingSink('healthy');
    let up = false;
    const down = recordingSink('down', async (items) =>
      items.map(() => (up ? WRITTEN : { status: 'retryable', reason: 'connect ECONNREFUSED' })),
    );
    const router = new SinkRouter([route(healthy, ['event']), route(down, ['event'])], { deadLetters });
    const event = makeEnvelope();

    const delivered = router.deliver({ events: [event] });
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(healthy.received).toEqual([event.eventId]);
    expect(down.received.length).toBeGreaterThan(2);
    expect(router.health()).toEqual({
      ready: false,
      routes: [
        { name: 'healthy', ready: true },
        { name: 'down', ready: false, reason: 'failing for 0 s: connect ECONNREFUSED' },
      ],
    });
    up = true;
    const report = await delivered;
    expect(report.routes).toMatchObject({ healthy: { written: 1 }, down: { written: 1, deadLettered: 0 } });
    expect(deadLetters.letters).toEqual([]);
    expect(router.health().ready).toBe(true);
    expect(router.stats()[1]).toMatchObject({
      name: 'down',
      ready: true,
      failingMs: 0,
      deadLettersByCode: {},
    });
  });

  it('signals saturation while a blocking sink is full and wakes waiters when it drains', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = recordingSink('slow', async (items) => {
      await gate;
      return items.map(() => WRITTEN);
    });
    const router = new SinkRouter(
      [{ ...route(slow, ['event']), delivery: { ...delivery, maxPendingItems: 2 } }],
      {
        deadLetters: new MemoryDeadLetterWriter(),
      },
    );
    const delivered = router.deliver({ events: [makeEnvelope(), makeEnvelope()] });
    expect(router.saturated()).toBe(true);
    expect(router.pendingItems()).toBe(2);
    const resumed = router.whenUnsaturated();
    release();
    await resumed;
    await delivered;
    expect(router.saturated()).toBe(false);
    expect(router.stats()[0]).toMatchObject({ name: 'slow', written: 2, pendingItems: 0, requests: 1 });
  });

  it('refuses two sinks with the same name', () => {
    const sink = recordingSink('twin');
    expect(
      () =>
        new SinkRouter([route(sink, ['event']), route(sink, ['alert'])], {
          deadLetters: new MemoryDeadLetterWriter(),
        }),
    ).toThrow(/two sinks are named "twin"/);
  });
});

describe('SinksConfigSchema', () => {
  it('defaults to a JSONL file sink and a dead-letter file', () => {
    const config = SinksConfigSchema.parse({});
    expect(config.deadLetter).toMatchObject({ path: './data/dead-letters.jsonl', fsync: true });
    expect(config.sinks).toMatchObject([
      { type: 'file', directory: './data/sinks', kinds: ['event', 'alert'], minSeverity: 'info' },
    ]);
    expect(config.sinks[0]!.delivery).toMatchObject({ batchSize: 500, retry: { attempts: 6 } });
  });

  it('fills every sink type’s defaults and rejects unknown types', () => {
    const config = SinksConfigSchema.parse({
      sinks: [
        { type: 'elasticsearch', node: 'http://127.0.0.1:9200', auth: { apiKey: 'abc' } },
        { type: 'splunk_hec', url: 'https://splunk:8088', token: 't', minSeverity: 'medium' },
        { type: 'stdout' },
      ],
    });
    expect(config.sinks.map((sink) => sink.type)).toEqual(['elasticsearch', 'splunk_hec', 'stdout']);
    expect(config.sinks[0]).toMatchObject({
      indexPrefix: 'clawdstrike',
      installTemplates: true,
      tls: { skipVerify: false },
    });
    expect(config.sinks[1]).toMatchObject({ gzip: true, ack: { enabled: false }, minSeverity: 'medium' });
    expect(config.sinks[2]).toMatchObject({ kinds: ['alert'] });
    expect(SinksConfigSchema.safeParse({ sinks: [{ type: 'kafka' }] }).success).toBe(false);
    expect(SinksConfigSchema.safeParse({ sinks: [{ type: 'elasticsearch', node: 'x' }] }).success).toBe(
      false,
    );
  });

  it('exports as JSON Schema for the README configuration reference', () => {
    const schema = JSON.stringify(z.toJSONSchema(SinksConfigSchema, { io: 'input' }));
    expect(schema).toContain('which items this sink receives');
    expect(schema).toContain('indexPrefix');
  });
});
