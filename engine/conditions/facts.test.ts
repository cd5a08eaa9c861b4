import { describe, expect, it } from 'vitest';
import type { Envelope } from '../model/index.ts';
import { type FactContext, resolveFact } from './facts.ts';

function contextOf(data: Record<string, unknown>): FactContext {
  return {
    event: { data } as unknown as Envelope,
    session: { riskScore: 42 },
    intel: () => ({}),
    asset: () => ({}),
    sessionKey: () => 'a|s',
  };
}

function read(fact: string, data: Record<string, unknown>, path?: string): unknown {
  const resolved = resolveFact(fact, path);
  if (typeof resolved === 'string') throw new Error(resolved);
  return resolved.accessor(contextOf(data));
}

describe('resolveFact', () => {
  it('reads keys with quotes, backslashes and code-like text as plain keys', () => {
    const key = `x"]); throw new Error('injected'); //\\`;
    expect(read('data', { [key]: 7 }, `$['${key.replace(/[\\']/g, '\\$&')}']`)).toBe(7);
    expect(read('data', { "it's": { 'a"b': 1 } }, `$['it\\'s']["a\\"b"]`)).toBe(1);
  });

  it('follows own properties only, at every step', () => {
    const data = JSON.parse('{"__proto__": {"polluted": 1}, "a": {"b": 2}}') as Record<string, unknown>;
    expect(read('data.__proto__', data)).toEqual({ polluted: 1 });
    expect(read('data.constructor', {})).toBeUndefined();
    expect(read('data.a.toString', data)).toBeUndefined();
    expect(read('data.a.b', data)).toBe(2);
    expect(read('data.a.b.c', data)).toBeUndefined();
    expect(read('data', { a: [5, 6] }, '$.a[1]')).toBe(6);
    expect(read('data', { a: 'text' }, '$.a.length')).toBe(4);
  });

  it('stops at falsy and missing values as json-rules-engine paths do', () => {
    expect(read('data.a.b', { a: 0 })).toBeUndefined();
    expect(read('data.a.b', { a: null })).toBeUndefined();
    expect(read('data.a', { a: 0 })).toBe(0);
    expect(read('session.riskScore', {})).toBe(42);
  });
});
