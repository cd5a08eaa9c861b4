import { setImmediate as nextTurn } from 'node:timers/promises';

/** Work on one request's records runs in slices of at most this long, then lets the event loop turn. */
const SLICE_MS = 10;

/**
 * `items.map(map)`, yielding to the event loop whenever a slice has run for SLICE_MS: a request of any size
 * holds the loop for about one record at a time, never for the whole body.
 */
export async function mapInSlices<T, R>(items: readonly T[], map: (item: T) => R): Promise<R[]> {
  const out: R[] = [];
  let sliceStart = performance.now();
  for (const item of items) {
    out.push(map(item));
    if (performance.now() - sliceStart > SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  return out;
}
