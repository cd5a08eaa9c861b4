import { describe, expect, it } from 'vitest';
import { ProcessorConfigSchema } from './config.ts';

describe('processor config on NATS', () => {
  it('refuses a max_ack_pending the acks held until the checkpoint would fill before the in-flight bound', () => {
    const nats = (maxAckPending: number, processor: Record<string, unknown> = {}) =>
      ProcessorConfigSchema.safeParse({ processor, transport: { kind: 'nats', nats: { maxAckPending } } });
    // 2 × (20,000 in flight + 2 × 2,000 per batch)
    expect(nats(48_000).success).toBe(true);
    const refused = nats(47_999);
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(['transport', 'nats', 'maxAckPending']);
    expect(nats(2_000, { maxInFlightRecords: 500, maxBatchSize: 250 }).success).toBe(true);
    // Without checkpoints nothing waits for one: acks follow each batch.
    expect(nats(2_000, { checkpoints: false }).success).toBe(true);
    expect(ProcessorConfigSchema.parse({}).transport.nats.maxAckPending).toBe(50_000);
  });
});
