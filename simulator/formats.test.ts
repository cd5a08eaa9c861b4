import { describe, expect, it } from 'vitest';
import { parseRecord } from '../engine/model/index.ts';
import { ATTACK_NAMES } from './attacks.ts';
import { encodeAs, formatsFor, toSnakeCase, WIRE_FORMATS } from './formats.ts';
import { Prng } from './prng.ts';
import { generate, normalize } from './test-support.ts';

// Ten minutes of a fleet with every attack: large enough to hit every format, variant and attack.
const records = generate({ seed: 11, agents: 6, attacks: ATTACK_NAMES }, 60, 10 * 60_000);
const normalized = normalize(records);

describe('generated records', () => {
  it('all pass parseRecord and keep what the intent said', () => {
    expect(records.length).toBeGreaterThan(30_000);
    for (const { source, envelope } of normalized) {
      const { intent, format } = source;
      expect(envelope.source.format).toBe(format);
      expect(envelope.eventType).toBe(intent.action.eventType);
      expect(envelope.agentId).toBe(intent.agent.agentId);
      expect(envelope.sessionId).toBe(intent.sessionId);
      expect(envelope.timestamp).toBe(new Date(intent.timestamp).toISOString());
      expect(envelope.decision.outcome).toBe(intent.decision?.outcome ?? 'allow');
      if (intent.decision?.guard) expect(envelope.decision.guard).toBe(intent.decision.guard);
      if (format !== 'hushd_webhook') expect(envelope.eventId).toContain(intent.eventId.slice(-8));
    }
  });

  it('use every wire format, snake_case aliases and both PolicyEvent decision shapes', () => {
    const formats = new Set(records.map((record) => record.format));
    expect([...formats].sort()).toEqual([...WIRE_FORMATS].sort());
    const policy = records
      .filter((record) => record.format === 'policy_event')
      .map((record) => record.record);
    expect(policy.some((record) => 'event_id' in record)).toBe(true);
    expect(policy.some((record) => 'eventId' in record)).toBe(true);
    const decisions = policy.map((record) => record.decision as Record<string, unknown> | undefined);
    expect(decisions.some((decision) => decision && 'status' in decision)).toBe(true);
    expect(decisions.some((decision) => decision && 'allowed' in decision)).toBe(true);
    expect(decisions.some((decision) => decision === undefined)).toBe(true);
  });

  it('only put an intent in a format that carries its evidence; webhooks only announce violations', () => {
    for (const { format, intent } of records) {
      expect(formatsFor(intent)).toContain(format);
      if (format === 'hushd_webhook') expect(intent.decision?.outcome).toBe('deny');
      if (intent.policyEventOnly) expect(format).toBe('policy_event');
    }
  });

  it('deliver some hushd checks twice, as AuditEvent and SecurityEvent with one id and one timestamp', () => {
    const byId = new Map<string, typeof normalized>();
    for (const event of normalized.filter((event) => event.source.format.startsWith('hushd_'))) {
      byId.set(event.envelope.eventId, [...(byId.get(event.envelope.eventId) ?? []), event]);
    }
    const twins = [...byId.values()].filter((group) => group.length === 2);
    expect(twins.length).toBeGreaterThan(0);
    for (const [first, second] of twins) {
      expect(new Set([first!.source.format, second!.source.format])).toEqual(
        new Set(['hushd_audit', 'hushd_security']),
      );
      expect(first!.envelope.timestamp).toBe(second!.envelope.timestamp);
      expect(first!.envelope.data).toEqual(second!.envelope.data);
    }
  });

  it('normalize the same in snake_case as in camelCase', () => {
    for (const { record } of records.filter((item) => item.format === 'policy_event').slice(0, 2000)) {
      const camel = parseRecord(record);
      const snake = parseRecord(toSnakeCase(record));
      expect(snake).toEqual(camel);
    }
  });

  it('encode one intent in every format it fits, each parsing to the same event', () => {
    const rng = new Prng(5);
    const hushdFit = records.filter((record) => formatsFor(record.intent).length === 4).slice(0, 200);
    expect(hushdFit.length).toBeGreaterThan(0);
    for (const { intent } of hushdFit) {
      for (const format of WIRE_FORMATS) {
        const result = parseRecord(encodeAs(format, intent, { rng, policyHash: 'ab'.repeat(32) }));
        if (!result.ok) throw new Error(JSON.stringify(result.error));
        expect(result.value).toMatchObject({
          eventType: intent.action.eventType,
          agentId: intent.agent.agentId,
          sessionId: intent.sessionId,
          decision: { outcome: 'deny', guard: intent.decision?.guard },
        });
        // PolicyEvents from agents carry no policy hash; every hushd record does.
        if (format !== 'policy_event') expect(result.value.policyHash).toBe('ab'.repeat(32));
      }
    }
  });
});
