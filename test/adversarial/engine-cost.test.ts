import { describe, expect, it } from 'vitest';
import {
  type Alert,
  buildRuleSet,
  createEngine,
  type Envelope,
  IntelIndex,
  type RuleSet,
} from '../../engine/index.ts';
import { bundledRules, egress, event, T0 } from '../engine/helpers.ts';

/**
 * Issue 13, "no record content may stall detection", on the engine's paths past the record limits: every
 * string may still be limits.record.maxStringBytes (64 KB) long, and a state may hold maxHitsPerState hits.
 * Work on one event that grows with the square of either let one agent stall its partition: a host of
 * thousands of labels looked up per label against wildcard intel (87 ms at 16 KB), an event URL with a line
 * break after a long host read by a backtracking expression (164 ms at 20 KB, 1.7 s at 64 KB), and a
 * sequence rule trying every start in its buffer on each hit of its last step (0.5 ms an event at 1,000
 * held hits, a hundred times an ordinary event). Each case: the control still alerts, and the cost grows
 * linearly: 4x the input costs well under the 16x a quadratic path takes (timed at the fastest of three
 * runs, so a stall of the shared machine is not counted).
 */
function timed(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

/** The fastest of three measurements (each returns the milliseconds it measured). */
const fastestOf3 = (measure: () => number) => Math.min(measure(), measure(), measure());

describe('threat-intel lookups of hostile hosts and URLs', () => {
  const intel = new IntelIndex([
    { type: 'domain', value: '*.evil.example', source: 'feed' },
    { type: 'url', value: 'https://drop.example/upload', source: 'feed' },
  ]);
  const rules = bundledRules(['THREAT_INTEL_EGRESS']);
  const run = (events: Envelope[]): Alert[] => {
    const engine = createEngine({ rules, intel, clock: () => T0 });
    return events.flatMap((e) => engine.process(e));
  };
  const withUrl = (host: string, url: string) =>
    event(0, 'network_egress', { type: 'network', host, port: 443, url });

  it('control: a subdomain of a wildcard and a listed URL (any case) alert', () => {
    const alerts = run([
      egress(0, 'a.b.EVIL.example'),
      withUrl('cdn.example', 'HTTPS://DROP.example/upload'),
      egress(1, 'evil.example.org'),
    ]);
    expect(alerts.map((alert) => alert.summary)).toEqual([
      expect.stringContaining('a.b.EVIL.example'),
      expect.stringContaining('cdn.example'),
    ]);
  });

  it('attack: hosts of thousands of labels and URLs with a line break after a long host cost linear time', () => {
    const hosts = (labels: number) =>
      Array.from({ length: 20 }, (_, i) => egress(i, `${'a.'.repeat(labels)}x${i}.org`));
    const urls = (chars: number) =>
      Array.from({ length: 20 }, (_, i) => withUrl('cdn.example', `https://${'h'.repeat(chars)}${i}/\nx`));
    // A wildcard's suffix still matches however many labels come before it.
    expect(run([egress(0, `${'a.'.repeat(30_000)}evil.example`)])).toHaveLength(1);
    for (const batch of [hosts, urls]) {
      const [warm, four, sixteen] = [1_000, 4_000, 16_000].map(batch);
      run(warm!);
      const small = fastestOf3(() => timed(() => run(four!)));
      const large = fastestOf3(() => timed(() => run(sixteen!)));
      expect(large / small).toBeLessThan(8);
      // 20 events of 32 KB each (16 KB for URLs): the old lookups took 1.7 and 2.6 s.
      expect(large).toBeLessThan(500);
    }
  });
});

describe('a sequence rule holding many hits of its first step', () => {
  const rules = (): RuleSet => {
    const step = (prefix: string) => ({
      condition: { fact: 'data.path', operator: 'glob', value: `${prefix}*` },
    });
    const built = buildRuleSet([
      {
        file: 'user.yaml',
        content: {
          rules: [
            {
              id: 'STAGED_ACCESS',
              name: 'staged access',
              severity: 'high',
              type: 'sequence',
              window: '1h',
              groupBy: ['agentId'],
              steps: [step('/stage/a'), step('/stage/b'), step('/stage/c')],
            },
          ],
        },
      },
    ]);
    if (!built.ok) throw new Error(JSON.stringify(built.error));
    return built.value;
  };
  const read = (seconds: number, path: string) =>
    event(seconds, 'file_read', { type: 'file', path, operation: 'read' });
  /** `held` first-step hits, then 200 last-step hits that complete nothing: the time of those 200. */
  const lastSteps = (held: number): number => {
    const firsts = Array.from({ length: held }, (_, i) => read(i / 1000, `/stage/a${i}`));
    const lasts = Array.from({ length: 200 }, (_, i) => read(10 + i / 1000, `/stage/c${i}`));
    return fastestOf3(() => {
      let now = T0;
      const engine = createEngine({ rules: rules(), clock: () => now, limits: { maxHitsPerState: 2_000 } });
      for (const e of firsts) engine.process(e);
      now = T0 + 10_000;
      return timed(() => {
        for (const e of lasts) engine.process(e);
      });
    });
  };

  it('control: the three steps in order alert', () => {
    let now = T0;
    const engine = createEngine({ rules: rules(), clock: () => now });
    const alerts = ['/stage/a1', '/stage/b1', '/stage/c1'].flatMap((path, i) => {
      now = T0 + i * 1000;
      return engine.process(read(i, path));
    });
    expect(alerts.map((alert) => alert.ruleId)).toEqual(['STAGED_ACCESS']);
  });

  it('attack: last steps that complete nothing cost time linear in the hits held', () => {
    lastSteps(250);
    const small = lastSteps(400);
    const large = lastSteps(1_600);
    expect(large / small).toBeLessThan(8);
  });
});
