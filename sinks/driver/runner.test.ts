import { describe, expect, it } from 'vitest';
import { EdrError } from '../../core/errors.ts';
import { makeEnvelope } from '../../test/support/sink-items.ts';
import type { DeliveryPolicy, ItemOutcome, Sink, SinkItem } from '../types.ts';
import { DUPLICATE, itemId, WRITTEN } from '../types.ts';
import { type DeadLetter, type DeadLetterWriter, MemoryDeadLetterWriter } from './dead-letter.ts';
import { RouteRunner } from './runner.ts';

type Script = (items: readonly SinkItem[], call: number) => ItemOutcome[] | Promise<ItemOutcome[]>;

function scriptedSink(script: Script): Sink & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    name: 'scripted',
    guarantee: 'at-least-once',
    calls,
    async write(items) {
      calls.push(items.map(itemId));
      return script(items, calls.length);
    },
  };
}

const policy = (overrides: Partial<DeliveryPolicy> = {}): DeliveryPolicy => ({
  batchSize: 10,
  concurrency: 2,
  maxPendingItems: 100,
  retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 1_000 },
  detached: false,
  ...overrides,
});

function runner(
  sink: Sink,
  delivery = policy(),
  deadLetters: DeadLetterWriter = new MemoryDeadLetterWriter(),
) {
  const delays: number[] = [];
  const instance = new RouteRunner(
    { sink, kinds: ['event', 'alert'], minSeverity: 'info', delivery },
    {
      deadLetters,
      clock: () => Date.parse('2026-03-14T10:00:00Z'),
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 1,
    },
  );
  return { runner: instance, delays };
}

const events = (count: number): SinkItem[] =>
  Array.from({ length: count }, () => ({ kind: 'event', event: makeEnvelope() }));

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

  it('dead-letters permanent failures at once and the rest after the retry budget', async () => {
    const items = events(2);
    const sink = scriptedSink((batch, call) => [
      ...(call === 1 ? [{ status: 'permanent', reason: 'mapper_parsing_exception' } as const] : []),
      ...batch.slice(call === 1 ? 1 : 0).map(() => ({ status: 'retryable', reason: 'HTTP 503' }) as const),
    ]);
    const deadLetters = new MemoryDeadLetterWriter();
    const { runner: subject, delays } = runner(sink, policy(), deadLetters);

    const tally = await subject.submit(items);

    expect(tally).toEqual({ written: 0, duplicates: 0, deadLettered: 2 });
    expect(sink.calls.length).toBe(3);
    expect(delays).toEqual([100, 200]);
    const [first, second] = deadLetters.letters as [DeadLetter, DeadLetter];
    expect(first).toMatchObject({ id: itemId(items[0]!), attempts: 1, reason: 'mapper_parsing_exception' });
    expect(second).toMatchObject({ id: itemId(items[1]!), attempts: 3, kind: 'event', sink: 'scripted' });
    expect(second.reason).toMatch(/retries exhausted after 3 attempts: HTTP 503/);
    expect(second.item).toEqual((items[1] as { event: unknown }).event);
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

  it('treats a thrown retriable EdrError as retryable and any other throw as permanent', async () => {
    const flaky = scriptedSink((batch, call) => {
      if (call === 1) throw new EdrError('EDR_ERR_SINK_RETRYABLE', 'socket hang up');
      return batch.map(() => WRITTEN);
    });
    expect((await runner(flaky).runner.submit(events(2))).written).toBe(2);

    const broken = scriptedSink(() => {
      throw new TypeError('bug');
    });
    const deadLetters = new MemoryDeadLetterWriter();
    const tally = await runner(broken, policy(), deadLetters).runner.submit(events(2));
    expect(tally.deadLettered).toBe(2);
    expect(deadLetters.letters[0]?.reason).toBe('bug');
  });

  it('never drops items when a sink answers with the wrong number of outcomes', async () => {
    const sink = scriptedSink(() => [WRITTEN]);
    const deadLetters = new MemoryDeadLetterWriter();
    const tally = await runner(sink, policy(), deadLetters).runner.submit(events(3));
    expect(tally.deadLettered).toBe(3);
    expect(deadLetters.letters[0]?.reason).toMatch(/returned 1 outcomes for 3 items/);
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
    expect(deadLetters.letters.map((letter) => [letter.reason, letter.attempts])).toEqual([
      ['delivery queue full', 0],
      ['delivery queue full', 0],
      ['delivery queue full', 0],
    ]);
  });
});
