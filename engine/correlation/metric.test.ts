import { describe, expect, it } from 'vitest';
import { createEngine } from '../engine.ts';
import { parseRecord } from '../model/index.ts';
import { buildRuleSet } from '../rules/ruleset.ts';
import { HitBuffer } from './hits.ts';
import { findMetric, metricTest, metricValue } from './metric.ts';

function buffer(values: number[], step = 1000): HitBuffer {
  const hits = new HitBuffer();
  values.forEach((value, i) => {
    hits.push(i * step, i, 1, `e${i}`, String(value));
  });
  return hits;
}
const sumOver = (bound: number) => ({
  average: false,
  holds: metricTest({ field: 'x', aggregate: 'sum', gt: bound }),
});

describe('value_sum / value_avg over a hit buffer', () => {
  it('reads finite numbers and numeric text only', () => {
    expect([7, '7', ' 8 ', -1.5, '0x10'].map(metricValue)).toEqual([7, 7, 8, -1.5, 16]);
    for (const hostile of ['', 'lots', '1e999', Infinity, Number.NaN, {}, [], true, null, undefined]) {
      expect(metricValue(hostile)).toBeUndefined();
    }
  });

  it('sums the window ending at the hit, both ends included', () => {
    const hits = buffer([600, 300, 101]);
    expect(findMetric(hits, 2, 2000, sumOver(1000))).toEqual(['e0', 'e1', 'e2']);
    expect(findMetric(hits, 2, 1999, sumOver(1000))).toBeUndefined();
    const average = { average: true, holds: metricTest({ field: 'x', aggregate: 'avg', gte: 200, lt: 201 }) };
    expect(findMetric(hits, 1, 1000, average)).toBeUndefined();
    expect(findMetric(buffer([100, 300]), 1, 1000, average)).toEqual(['e0', 'e1']);
  });

  it('a huge value and its negative do not swallow the small ones; overflow is Infinity, not NaN', () => {
    expect(findMetric(buffer([900, -1e308, 1e308, 200]), 3, 10_000, sumOver(1000))).toHaveLength(4);
    expect(findMetric(buffer([900, -1e308, 1e308, 50]), 3, 10_000, sumOver(1000))).toBeUndefined();
    expect(findMetric(buffer([1.7e308, 1.7e308]), 1, 10_000, sumOver(1e15))).toHaveLength(2);
    const belowInfinity = { average: false, holds: metricTest({ field: 'x', aggregate: 'sum', lt: 0 }) };
    expect(findMetric(buffer([-1.7e308, -1.7e308]), 1, 10_000, belowInfinity)).toHaveLength(2);
  });

  it('costs one pass over a full buffer', () => {
    const hits = buffer(
      Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 1e15 : -1e15 + 1)),
      1,
    );
    const start = performance.now();
    for (let i = 0; i < 1000; i++) findMetric(hits, 999, 10_000, sumOver(1000));
    expect(findMetric(hits, 999, 10_000, sumOver(499))).toHaveLength(1000);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});

describe('metric in our rule format', () => {
  it('a threshold with metric sums a field over its window; a metric needs a bound', () => {
    const rule = (metric: unknown) =>
      buildRuleSet([
        {
          file: 'rules/t.yaml',
          content: {
            rules: [
              {
                id: 'PORT_SUM',
                name: 'Ports add up',
                severity: 'low',
                type: 'threshold',
                window: '1m',
                groupBy: ['agentId'],
                condition: { fact: 'eventType', operator: 'equal', value: 'network_egress' },
                metric,
              },
            ],
          },
        },
      ]);
    const built = rule({ field: 'data.port', aggregate: 'sum', gte: 966 });
    if (!built.ok) throw new Error(JSON.stringify(built.error));
    let now = 0;
    const engine = createEngine({ rules: built.value, clock: () => now });
    const alerts = [443, 80, 443, 22].flatMap((port, i) => {
      const parsed = parseRecord({
        eventId: `e${i}`,
        eventType: 'network_egress',
        timestamp: new Date(Date.UTC(2026, 2, 2) + i * 1000).toISOString(),
        data: { type: 'network', host: 'h.example', port },
        metadata: { agentId: 'agent-1' },
      });
      if (!parsed.ok) throw new Error('unreadable');
      now = Date.parse(parsed.value.timestamp);
      return engine.process(parsed.value).map((alert) => alert.eventIds);
    });
    expect(alerts).toEqual([['e0', 'e1', 'e2']]);
    const unbounded = rule({ field: 'data.port', aggregate: 'sum' });
    expect(unbounded.ok ? [] : unbounded.error.map((problem) => problem.message)).toEqual([
      expect.stringContaining('a metric needs gt, gte, lt, lte, eq or neq'),
    ]);
  });
});
