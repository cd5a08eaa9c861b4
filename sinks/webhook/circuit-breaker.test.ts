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

  it('refuses while open, telling how long is left, then lets exactly one trial through', () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    advance(400);
    expect(breaker.acquire()).toEqual({ allowed: false, retryAfterMs: 600 });
    advance(600);
    expect(breaker.acquire()).toEqual({ allowed: true });
    expect(breaker.snapshot().state).toBe('half-open');
    expect(breaker.acquire().allowed).toBe(false);
    breaker.recordSuccess();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', rejected: 2 });
    expect(breaker.acquire().allowed).toBe(true);
  });

  it('reopens when the trial fails', () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    advance(1_000);
    expect(breaker.acquire().allowed).toBe(true);
    breaker.recordFailure();
    expect(breaker.snapshot()).toMatchObject({ state: 'open', opened: 2 });
    expect(breaker.acquire()).toEqual({ allowed: false, retryAfterMs: 1_000 });
  });
});
