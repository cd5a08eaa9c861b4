import type { OutboundRecord } from '../types.ts';

/** Under the broker's default message.max.bytes (1,048,588), with room for batch overhead. */
const MAX_REQUEST_BYTES = 900 * 1024;

/** A record's size on the wire, roughly: value, key, headers and per-record overhead. */
function recordBytes(record: OutboundRecord): number {
  let size = record.value.byteLength + record.key.length + 32;
  for (const [name, value] of Object.entries(record.headers ?? {})) size += name.length + value.length + 8;
  return size;
}

/**
 * Coalesced publishes could exceed the broker's message.max.bytes in one partition's record batch and be
 * refused for good (MESSAGE_TOO_LARGE); each client sends these chunks one after the other instead, so
 * each partition keeps its order.
 */
export function* requestChunks(records: readonly OutboundRecord[]): Generator<OutboundRecord[]> {
  let chunk: OutboundRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = recordBytes(record);
    if (chunk.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

export function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** `topic/3` → its topic and partition number. */
export function splitPartitionId(id: string): { topic: string; partition: number } {
  const slash = id.lastIndexOf('/');
  return { topic: id.slice(0, slash), partition: Number(id.slice(slash + 1)) };
}
