import { describe, expect, it } from 'vitest';
import { EdrError } from '../../core/errors.ts';
import { makeEnvelope } from '../../test/support/sink-items.ts';
import type { DeliveryPolicy, ItemOutcome, ProbeResult, Sink, SinkItem } from '../types.ts';
import { DUPLICATE, itemId, SILENT_LOGGER, WRITTEN } from '../types.ts';
import { type DeadLetter, type DeadLetterWriter, MemoryDeadLetterWriter } from './dead-letter.ts';
import { RouteRunner } from './runner.ts';

type Script = (items: readonly SinkItem[], call: number) => ItemOutcome[] | Promise<ItemOutcome[]>;

function scriptedSink(script: Script, probe?: () => Promise<ProbeResult>): Sink & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    name: 'scripted',
    guarantee: 'at-least-once',
    calls,
    async write(items) {
      calls.push(items.map(itemId));
      return script(items, calls.length);
    },
    ...(probe ? { probe } : {}),
  };
}

const policy = (overrides: Partial<DeliveryPolicy> = {}): DeliveryPolicy => ({
  batchSize: 10,
  concurrency: 2,
  maxPendingItems: 100,
  retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 1_000 },
  detached: false,
  notReadyAfterMs: 30_000,
  probeIntervalMs: 60_000,
  ...overrides,
});

function runner(
  sink: Sink,
  delivery = policy(),
  deadLetters: DeadLetterWriter = new MemoryDeadLetterWriter(),
  options: { sleep?: (ms: number) => Promise<void>; interrupted?: Promise<void> } = {},
) {
  const delays: number[] = [];
  const clock = { now: Date.parse('2026-03-14T10:00:00Z') };
  const instance = new RouteRunner(
    { sink, kinds: ['event', 'alert'], minSeverity: 'info', delivery },
    {
      deadLetters,
      clock: () => clock.now,
      log: SILENT_LOGGER,
      sleep:
        options.sleep ??
        (async (ms) => {
          delays.push(ms);
        }),
      random: () => 1,
      interrupted: options.interrupted ?? new Promise(() => {}),
    },
  );
  return { runner: instance, delays, clock };
}

const events = (count: number): SinkItem[] =>
  Array.from({ length: count }, () => ({ kind: 'event', event: makeEnvelope() }));

const down: ItemOutcome = { status: 'retryable', reason: 'connect ECONNREFUSED' };

describe('RouteRunner', () => {
  it('resends only the items the sink reported retryable, with backoff', async () => {
    const items = events(3);
    const sink = scriptedSink((batch, call) =>
      call === 1 ? [WRITTEN, { status: 'retryable', reason: '429' }, DUPLICATE] : batch.map(() => WRITTEN),
    );
    const { runner: subject, delays } = runner(sink);

    const tally = await subject.submit(items);

    expect(sink.calls).toEqual([items.map(itemId), [itemId(items[1]!)]]);
    expect(tally).toEqual({ written: 2, duplicates: 1, deadLettered: 0 });
    expect(delays).toEqual([100]);
    expect(subject.counters.retries).toBe(1);
  });

  it('waits out an outage however long it lasts: retry.attempts is not used up, nothing is dead-lettered', async () => {
    const items = events(4);
    // Twelve failed requests, four times the attempts budget, then the destination is back.
    const sink = scriptedSink((batch, call) => batch.map(() => (call <= 12 ? down : WRITTEN)));
    const deadLetters = new MemoryDeadLetterWriter();
    const { runner: subject, delays } = runner(sink, policy(), deadLetters);

    const tally = await subject.submit(items);

    expect(tally).toEqual({ written: 4, duplicates: 0, deadLettered: 0 });
    expect(deadLetters.letters).toEqual([]);
    expect(sink.calls).toHaveLength(13);
    // Full-jitter backoff (random() = 1 here) grows to maxDelayMs and stays there.
    expect(delays.slice(0, 5)).toEqual([100, 200, 400, 800, 1_000]);
    expect(delays.slice(5)).toEqual(new Array(7).fill(1_000));
  });

  it('dead-letters a permanent item at once and an item failing on its own after retry.attempts', async () => {
    const items = events(3);
    const sink = scriptedSink((batch) =>
      batch.map((item) => {
        if (item === items[0]) return { status: 'permanent', reason: 'mapper_parsing_exception', code: 'x' };
        if (item === items[1])
          return { status: 'retryable', reason: 'HTTP 500 on this document', suspect: true };
        return WRITTEN;
      }),
    );
    const deadLetters = new MemoryDeadLetterWriter();
    const tally = await runner(sink, policy(), deadLetters).runner.submit(items);

    expect(tally).toEqual({ written: 1, duplicates: 0, deadLettered: 2 });
    const [first, second] = deadLetters.letters as [DeadLetter, DeadLetter];
    expect(first).toMatchObject({ id: itemId(items[0]!), attempts: 1, code: 'x' });
    expect(second).toMatchObject({ id: itemId(items[1]!), attempts: 3, code: 'retries_exhausted' });
    expect(second.reason).toBe('failed 3 times on its own: HTTP 500 on this document');
    expect(second.item).toEqual((items[1] as { event: unknown }).event);
  });

  it('splits a refused request until the item at fault is alone, and dead-letters only that one', async () => {
    const items = events(8);
    const culprit = items[5]!;
    const sink = scriptedSink((batch) =>
      batch.includes(culprit)
        ? batch.map(() => ({ status: 'refused', reason: 'HTTP 400: id is too long', code: 'http_400' }))
        : batch.map(() => WRITTEN),
    );
    const deadLetters = new MemoryDeadLetterWriter();
    const tally = await runner(sink, policy(), deadLetters).runner.submit(items);

    expect(tally).toEqual({ written: 7, duplicates: 0, deadLettered: 1 });
    expect(deadLetters.letters).toMatchObject([{ id: itemId(culprit), code: 'http_400', attempts: 4 }]);
    // Depth first: 8 → 4 (fine) + 4 → 2 → 1 (fine) + 1 (the culprit), then the other 2.
    expect(sink.calls.map((call) => call.length)).toEqual([8, 4, 4, 2, 1, 1, 2]);
  });

  it('isolates an item that makes the sink throw, and retries a retriable throw', async () => {
    const items = events(4);
    const sink = scriptedSink((batch) => {
      if (batch.includes(items[2]!)) throw new TypeError('cannot read properties of undefined');
      return batch.map(() => WRITTEN);
    });
    const deadLetters = new MemoryDeadLetterWriter();
    expect(await runner(sink, policy(), deadLetters).runner.submit(items)).toMatchObject({
      written: 3,
      deadLettered: 1,
    });
    expect(deadLetters.letters).toMatchObject([{ id: itemId(items[2]!), code: 'sink_error' }]);

    const flaky = scriptedSink((batch, call) => {
      if (call === 1) throw new EdrError('EDR_ERR_SINK_RETRYABLE', 'socket hang up');
      return batch.map(() => WRITTEN);
    });
    expect((await runner(flaky).runner.submit(events(2))).written).toBe(2);
  });

  it('never drops items when a sink answers with the wrong number of outcomes', async () => {
    const sink = scriptedSink(() => [WRITTEN]);
    const tally = await runner(sink).runner.submit(events(3));
    // Split until each request holds one item, which the sink then answers correctly.
    expect(tally).toEqual({ written: 3, duplicates: 0, deadLettered: 0 });
  });

  it('holds a blocked batch, reports not ready at once, and writes it once the destination is fixed', async () => {
    let fixed = false;
    let wake: () => void = () => {};
    const sink = scriptedSink((batch) =>
      batch.map(() => (fixed ? WRITTEN : { status: 'blocked', reason: '/data/sinks: EROFS: read-only' })),
    );
    const deadLetters = new MemoryDeadLetterWriter();
    const { runner: subject } = runner(sink, policy(), deadLetters, {
      sleep: () =>
        new Promise((resolve) => {
          wake = resolve;
        }),
    });
    const delivered = subject.submit(events(2));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(subject.health()).toEqual({
      name: 'scripted',
      ready: false,
      reason: '/data/sinks: EROFS: read-only',
    });
    expect(subject.pendingItems()).toBe(2);
    fixed = true;
    wake();
    expect(await delivered).toEqual({ written: 2, duplicates: 0, deadLettered: 0 });
    expect(deadLetters.letters).toEqual([]);
    expect(subject.health()).toEqual({ name: 'scripted', ready: true });
  });

  it('reports a route failing for longer than notReadyAfterMs as not ready', async () => {
    let up = false;
    let wake: () => void = () => {};
    const sink = scriptedSink((batch) => batch.map(() => (up ? WRITTEN : down)));
    const { runner: subject, clock } = runner(sink, policy({ notReadyAfterMs: 30_000 }), undefined, {
      sleep: () =>
        new Promise((resolve) => {
          wake = resolve;
        }),
    });
    const delivered = subject.submit(events(1));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(subject.health()).toMatchObject({ ready: true, reason: 'failing for 0 s: connect ECONNREFUSED' });
    clock.now += 31_000;
    expect(subject.health()).toEqual({
      name: 'scripted',
      ready: false,
      reason: 'failing for 31 s: connect ECONNREFUSED',
    });
    expect(subject.failingMs()).toBe(31_000);
    up = true;
    wake();
    await delivered;
    expect(subject.health().ready).toBe(true);
    expect(subject.failingMs()).toBe(0);
  });

  it('starts not ready when the probe finds the destination unusable', async () => {
    const sink = scriptedSink(
      (batch) => batch.map(() => WRITTEN),
      async () => ({ state: 'unusable', reason: '/ro/events.jsonl: EROFS: read-only file system' }),
    );
    const { runner: subject } = runner(sink);
    await subject.start();
    expect(subject.health()).toEqual({
      name: 'scripted',
      ready: false,
      reason: '/ro/events.jsonl: EROFS: read-only file system',
    });
    subject.stop();
  });

  it('stops waiting and rejects when interrupted, so the batch is not taken as final', async () => {
    let interrupt: () => void = () => {};
    const interrupted = new Promise<void>((resolve) => {
      interrupt = resolve;
    });
    const sink = scriptedSink((batch) => batch.map(() => down));
    const { runner: subject } = runner(sink, policy(), undefined, {
      sleep: () => new Promise(() => {}),
      interrupted,
    });
    const delivered = subject.submit(events(1));
    await new Promise((resolve) => setTimeout(resolve, 10));
    interrupt();
    await expect(delivered).rejects.toThrow(
      /stopped waiting .* while the sink was failing: connect ECONNREFUSED/,
    );
  });

  it('waits as long as Retry-After asks, capped at maxDelayMs', async () => {
    const sink = scriptedSink((batch, call) =>
      batch.map(() =>
        call === 1 ? { status: 'retryable', reason: 'busy', retryAfterMs: 5_000 } : (WRITTEN as ItemOutcome),
      ),
    );
    const { runner: subject, delays } = runner(
      sink,
      policy({ retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 2_000 } }),
    );
    await subject.submit(events(1));
    expect(delays).toEqual([2_000]);
  });

  it('splits into batches and keeps at most `concurrency` writes in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const sink = scriptedSink(async (batch) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return batch.map(() => WRITTEN);
    });
    const { runner: subject } = runner(sink, policy({ batchSize: 4, concurrency: 2 }));
    const tally = await subject.submit(events(18));
    expect(sink.calls.map((call) => call.length)).toEqual([4, 4, 4, 4, 2]);
    expect(peak).toBe(2);
    expect(tally.written).toBe(18);
  });

  it('rejects when dead letters cannot be stored, so the batch is not taken as final', async () => {
    const sink = scriptedSink((batch) => batch.map(() => ({ status: 'permanent', reason: 'bad' })));
    const failing: DeadLetterWriter = {
      write: async () => {
        throw new Error('disk gone');
      },
    };
    await expect(runner(sink, policy(), failing).runner.submit(events(1))).rejects.toThrow('disk gone');
  });

  it('bounds a detached route by retry.attempts, outages included, and dead-letters a blocked item at once', async () => {
    const deadLetters = new MemoryDeadLetterWriter();
    const items = events(2);
    const sink = scriptedSink((batch) =>
      batch.map((item) => (item === items[0] ? down : { status: 'blocked', reason: 'HTTP 401' })),
    );
    const tally = await runner(sink, policy({ detached: true }), deadLetters).runner.submit(items);
    expect(tally.deadLettered).toBe(2);
    expect(deadLetters.letters.map((letter) => [letter.id, letter.code, letter.attempts])).toEqual([
      [itemId(items[1]!), 'blocked', 1],
      [itemId(items[0]!), 'retries_exhausted', 3],
    ]);
  });

  it('reports saturation while pending items reach maxPendingItems; a detached route sheds instead', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = scriptedSink(async (batch) => {
      await gate;
      return batch.map(() => WRITTEN);
    });
    const blocking = runner(slow, policy({ maxPendingItems: 3 })).runner;
    const pending = blocking.submit(events(3));
    expect(blocking.saturated()).toBe(true);
    release();
    await pending;
    expect(blocking.saturated()).toBe(false);

    const deadLetters = new MemoryDeadLetterWriter();
    const detached = runner(
      scriptedSink((batch) => batch.map(() => WRITTEN)),
      policy({ maxPendingItems: 2, detached: true }),
      deadLetters,
    ).runner;
    const tally = await detached.submit(events(5));
    expect(tally).toEqual({ written: 2, duplicates: 0, deadLettered: 3 });
    expect(deadLetters.letters.map((letter) => [letter.reason, letter.code, letter.attempts])).toEqual([
      ['delivery queue full', 'queue_full', 0],
      ['delivery queue full', 'queue_full', 0],
      ['delivery queue full', 'queue_full', 0],
    ]);
    expect(Object.fromEntries(detached.deadLetterCodes)).toEqual({ queue_full: 3 });
  });
});
