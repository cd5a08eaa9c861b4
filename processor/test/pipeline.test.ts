import { describe, it } from 'vitest';
import { QUICK_REJOIN, useCleanup } from '../../test/support/pipeline.ts';
import { checkPipelinedDriver } from '../../test/support/pipelined-driver.ts';

/**
 * The pipelined driver on the real CLI and Kafka: batches are evaluated and written to the other sinks
 * while a webhook receiver holds its requests; nothing is committed past the held batch; a SIGKILL then
 * makes the next processor deliver again exactly the records after the watermark, and nothing before it.
 * The same check runs on NATS in pipeline-nats.test.ts.
 */
describe('pipelined processor (Kafka, child process)', () => {
  const defer = useCleanup();

  it('evaluates batch N+1 while batch N is still writing, and after a kill re-delivers what was not final', async () => {
    await checkPipelinedDriver(defer, 'kafka', QUICK_REJOIN);
  });
});
