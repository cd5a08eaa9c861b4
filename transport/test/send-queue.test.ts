import { describe, expect, it } from 'vitest';
import { SendQueue } from '../kafka/send-queue.ts';

describe('SendQueue', () => {
  it('coalesces what arrives during a send into the next one', async () => {
    const sends: number[][] = [];
    let release: () => void = () => {};
    const queue = new SendQueue<number>(async (items) => {
      sends.push(items);
      if (sends.length === 1) await new Promise<void>((resolve) => (release = resolve));
    }, 100);
    const first = queue.submit([1], 1_000);
    const second = queue.submit([2, 3], 1_000);
    const third = queue.submit([4], 1_000);
    release();
    await Promise.all([first, second, third]);
    expect(sends).toEqual([[1], [2, 3, 4]]);
  });

  it('rejects every caller carried by a failed send, and only those', async () => {
    let attempt = 0;
    const queue = new SendQueue<number>(async () => {
      attempt++;
      if (attempt === 1) throw new Error('broker down');
    }, 1);
    const results = await Promise.allSettled([queue.submit([1], 1_000), queue.submit([2], 1_000)]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled']);
  });

  it('times out a caller and never sends its items once it was told so', async () => {
    const sent: number[] = [];
    let release: () => void = () => {};
    const queue = new SendQueue<number>(async (items) => {
      sent.push(...items);
      if (items[0] === 1) await new Promise<void>((resolve) => (release = resolve));
    }, 100);
    const blocking = queue.submit([1], 1_000);
    await expect(queue.submit([2], 20)).rejects.toMatchObject({ code: 'EDR_ERR_BROKER_TIMEOUT' });
    release();
    await blocking;
    await queue.idle();
    expect(sent).toEqual([1]);
  });
});
