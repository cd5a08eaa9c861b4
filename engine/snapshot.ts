import { z } from 'zod';
import { type AbsenceState, AbsenceStateSchema } from './correlation/absence.ts';
import { type BufferState, BufferStateSchema, HitBuffer } from './correlation/hits.ts';
import { SessionSnapshotSchema } from './sessions.ts';

/**
 * Everything the engine needs to resume where it stopped: what the processor checkpoints next to its offsets.
 * JSON-serializable. Correlation states carry their rule's fingerprint; on restore, states of rules that are
 * gone or changed are dropped rather than misread.
 */
export const ENGINE_SNAPSHOT_VERSION = 1;

export const CorrelationStateSchema = z.discriminatedUnion('kind', [BufferStateSchema, AbsenceStateSchema]);
export type CorrelationState = z.infer<typeof CorrelationStateSchema>;

/** A correlation state as the engine holds it: a buffer's hits in a HitBuffer, written out as a list. */
export type LiveCorrelationState = BufferState | AbsenceState;

export function snapshotState(state: LiveCorrelationState): CorrelationState {
  if (state.kind === 'absence') return structuredClone(state);
  const { hits, watermark, latest } = state;
  return latest
    ? { kind: 'buffer', hits: hits.toHits(), watermark, latest: Array.from(latest, (t) => t ?? null) }
    : { kind: 'buffer', hits: hits.toHits(), watermark };
}

export function liveState(state: CorrelationState): LiveCorrelationState {
  return state.kind === 'absence' ? state : { ...state, hits: HitBuffer.from(state.hits) };
}

export const EngineSnapshotSchema = z.object({
  version: z.literal(ENGINE_SNAPSHOT_VERSION),
  /** The arrival counter, so events after a restore keep ordering after those before it. */
  seq: z.number(),
  /** The engine's event time (epoch ms), null before the first event. */
  eventTime: z.number().nullable(),
  sessions: z.array(SessionSnapshotSchema),
  correlation: z.array(
    z.object({
      ruleId: z.string(),
      fingerprint: z.string(),
      groupKey: z.string(),
      state: CorrelationStateSchema,
    }),
  ),
  /** [rule id, suppression key, suppressed until (epoch ms)]. */
  suppressions: z.array(z.tuple([z.string(), z.string(), z.number()])),
  /** [event id, event time (epoch ms)], oldest first. */
  dedupe: z.array(z.tuple([z.string(), z.number()])),
});
export type EngineSnapshot = z.infer<typeof EngineSnapshotSchema>;
