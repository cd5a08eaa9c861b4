import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.ts';

describe('CircuitBreaker', () => {
  const setup = () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 1_000 }, () => now);
    return { breaker, advance: (ms: number) => (now += ms) };
  };

  it('opens after the threshold of consecutive failures; a success in between resets the count', () => {
    const { breaker } = setup();
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.snapshot().state).toBe('closed');
    breaker.recordFailure();
    expect(breaker.snapshot()).toMatchObject({ state: 'open', opened: 1, failures: 5, successes: 1 });
  });

  it('refuses while open, telling how long is left, then lets exactly one trial through', async () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    advance(400);
    expect(await breaker.acquire()).toEqual({ allowed: false, retryAfterMs: 600 });
    advance(600);
    expect(await breaker.acquire()).toEqual({ allowed: true });
    expect(breaker.snapshot().state).toBe('half-open');
    breaker.recordSuccess();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', rejected: 1 });
    expect(await breaker.acquire()).toEqual({ allowed: true });
  });

  it('lets the requests that waited on a trial through as soon as it succeeds', async () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    advance(1_000);
    expect(await breaker.acquire()).toEqual({ allowed: true });
    const waiting = [breaker.acquire(), breaker.acquire()];
    breaker.recordSuccess();
    expect(await Promise.all(waiting)).toEqual([{ allowed: true }, { allowed: true }]);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', rejected: 0 });
  });

  it('reopens when the trial fails, refusing its waiters for the whole open time', async () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    advance(1_000);
    expect((await breaker.acquire()).allowed).toBe(true);
    const waiting = breaker.acquire();
    breaker.recordFailure();
    expect(await waiting).toEqual({ allowed: false, retryAfterMs: 1_000 });
    expect(breaker.snapshot()).toMatchObject({ state: 'open', opened: 2, rejected: 1 });
    expect(await breaker.acquire()).toEqual({ allowed: false, retryAfterMs: 1_000 });
  });

  it('does not hold waiters longer than the open time when a trial never reports back', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 50 }, () => now);
    breaker.recordFailure();
    now = 50;
    expect((await breaker.acquire()).allowed).toBe(true);
    const started = performance.now();
    expect(await breaker.acquire()).toEqual({ allowed: false, retryAfterMs: 1 });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
