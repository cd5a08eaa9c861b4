import { fileURLToPath } from 'node:url';
import {
  type Alert,
  createEngine,
  type DetectionEngine,
  type EngineLimits,
  type Envelope,
  loadRules,
  parseRecord,
  type RuleSet,
  selectRules,
} from '../../engine/index.ts';

export const BUNDLED_RULES = fileURLToPath(new URL('../../rules/', import.meta.url));
export const T0 = Date.parse('2026-03-02T10:00:00.000Z');

export function bundledRules(ids?: string[]): RuleSet {
  const loaded = loadRules([BUNDLED_RULES]);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  return ids ? selectRules(loaded.value, new Set(ids)) : loaded.value;
}

let counter = 0;

/** A PolicyEvent normalized to the envelope; `seconds` after T0. */
export function event(
  seconds: number,
  eventType: string,
  data: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Envelope {
  const parsed = parseRecord({
    eventId: `evt-${++counter}`,
    eventType,
    timestamp: new Date(T0 + seconds * 1000).toISOString(),
    sessionId: 'sess-1',
    data,
    metadata: { agentId: 'agent-1' },
    ...extra,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value;
}

export const read = (seconds: number, path: string, extra?: Record<string, unknown>) =>
  event(seconds, 'file_read', { type: 'file', path, operation: 'read' }, extra);
export const egress = (seconds: number, host: string, extra?: Record<string, unknown>) =>
  event(seconds, 'network_egress', { type: 'network', host, port: 443 }, extra);
export const denied = (seconds: number, guard: string, extra?: Record<string, unknown>) =>
  event(
    seconds,
    'file_write',
    { type: 'file', path: `/srv/${counter}`, operation: 'write' },
    { decision: { status: 'deny', guard }, ...extra },
  );

/** An engine over the given rules whose clock is the time of the event being processed. */
export function replayEngine(
  rules: RuleSet,
  limits?: Partial<EngineLimits>,
): { engine: DetectionEngine; run(events: Envelope[]): Alert[] } {
  let now = 0;
  const engine = createEngine({ rules, clock: () => now, limits });
  return {
    engine,
    run: (events) =>
      events.flatMap((e) => {
        now = Date.parse(e.timestamp);
        return engine.process(e);
      }),
  };
}
