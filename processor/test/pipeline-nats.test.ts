import { describe, it } from 'vitest';
import { useCleanup } from '../../test/support/pipeline.ts';
import { checkPipelinedDriver } from '../../test/support/pipelined-driver.ts';

/**
 * The pipelined driver on NATS: acks are deferred to the checkpoint, so batch N+1 is evaluated while batch
 * N's webhook is held, and after a SIGKILL JetStream redelivers exactly what was not acknowledged. A short
 * ack_wait makes that redelivery quick, and the held batch outlives it several times over (progress acks).
 */
describe('pipelined processor (NATS, child process)', () => {
  const defer = useCleanup();

  it('evaluates batch N+1 while batch N is still writing, and after a kill re-delivers what was not final', {
    timeout: 120_000,
  }, async () => {
    await checkPipelinedDriver(defer, 'nats', { nats: { ackWaitMs: 6_000 } });
  });
});
