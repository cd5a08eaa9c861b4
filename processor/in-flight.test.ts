import { describe, expect, it } from 'vitest';
import { InFlight } from './in-flight.ts';

/** A batch's finalization, settled by the test. */
function pending(): { promise: Promise<boolean>; settle(final: boolean): void } {
  let settle: (final: boolean) => void = () => undefined;
  const promise = new Promise<boolean>((resolve) => {
    settle = resolve;
  });
  return { promise, settle };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('InFlight', () => {
  it('moves the watermark over the final batches at the head of each partition', async () => {
    const inFlight = new InFlight(() => 0);
    const [first, second] = [pending(), pending()];
    inFlight.add('p0', 10, 10, first.promise);
    inFlight.add('p0', 5, 15, second.promise);
    second.settle(true);
    await tick();
    expect(inFlight.watermark('p0')).toBeUndefined();
    first.settle(true);
    await tick();
    expect(inFlight.watermark('p0')).toBe(15);
    expect(await inFlight.drained()).toBe(true);
  });

  it('is never drained again once a batch ended without becoming final (stopping), so nothing past it is committed', async () => {
    const inFlight = new InFlight(() => 0);
    const abandoned = pending();
    inFlight.add('p0', 10, 10, abandoned.promise);
    // A route gave up on the batch while stopping: it left the set in flight, but its records are not final.
    abandoned.settle(false);
    await tick();
    expect(inFlight.batches).toBe(0);
    expect(inFlight.watermark('p0')).toBeUndefined();
    expect(await inFlight.drained()).toBe(false);
    expect(await inFlight.drained(10)).toBe(false);
  });
});
