import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EdrError } from '../core/errors.ts';
import type { CheckpointStore } from './checkpoints.ts';

/**
 * A partition's state as a changelog in a CheckpointStore, the Kafka Streams way: one record per state entry,
 * written again only when the entry changed, removed when it is gone; a compacted topic (or a KV bucket)
 * keeps the newest record per key, and a restore reads them back.
 *
 * A checkpoint must land whole: state entries of two checkpoints mixed would count some events twice and
 * others never. So each checkpoint (generation G) is written in three steps, a redo log:
 *   1. its changes, in chunks of lines, under `<owner>.cl.wal.<G>.<i>`;
 *   2. the marker `<owner>.cl.marker`: G, its chunk count and the engine meta (the commit point);
 *   3. each change under its entry's key `<owner>.cl.e.<digest of the name>` (or its removal), then the
 *      chunks are removed (all of the owner's, in one request where the store can).
 * A restore reads the entries and applies over them the chunks of the marker's generation that are still
 * there (a crash in step 3 left some entries behind them). Chunks of any other generation are from a
 * checkpoint whose marker never landed: they are ignored and removed by the next checkpoint. A failure after
 * the marker leaves the checkpoint committed but not applied: the caller writes those entries again with the
 * next one, whose chunks then carry them.
 */

const FORMAT = 'edr-changelog/1';
const MarkerSchema = z.strictObject({
  format: z.literal(FORMAT),
  generation: z.int().min(1),
  chunks: z.int().min(0),
  /** The engine's meta as JSON text. */
  meta: z.string(),
});

export interface ChangelogState {
  generation: number;
  /** JSON text of the meta written with the last checkpoint. */
  meta: string;
  /** JSON text of each entry, by name. */
  entries: Map<string, string>;
}

export interface ChangelogWrite {
  /** JSON text of the engine's meta. */
  meta: string;
  /** [entry name, JSON text of its value or null when the entry is gone]; names are distinct. */
  changes: ReadonlyArray<readonly [string, string | null]>;
}

export interface ChangelogOptions {
  /** Bytes of change lines per redo-log chunk at most (a longer line is a chunk of its own). */
  chunkBytes: number;
}

export class PartitionChangelog {
  readonly #store: CheckpointStore;
  readonly #owner: string;
  readonly #options: ChangelogOptions;
  #generation = 0;
  /** The whole-state checkpoint of earlier versions under the owner's key, removed with the first changelog. */
  #legacy = false;

  constructor(store: CheckpointStore, owner: string, options: ChangelogOptions) {
    this.#store = store;
    this.#owner = owner;
    this.#options = options;
  }

  /** The state as the last committed checkpoint left it; undefined when the owner has no changelog yet. */
  async load(): Promise<ChangelogState | undefined> {
    const records = await this.#store.loadPrefix(`${this.#owner}.cl.`);
    const markerBytes = records.get('marker');
    const marker = markerBytes && parseMarker(markerBytes, this.#owner);
    const redo: Array<[number, Uint8Array]> = [];
    const entries = new Map<string, string>();
    for (const [key, value] of records) {
      if (key.startsWith('e.')) {
        const [name, text] = splitRecord(Buffer.from(value).toString('utf8'), '\n', this.#owner);
        entries.set(name, text);
        continue;
      }
      const chunk = /^wal\.(\d+)\.(\d+)$/.exec(key);
      if (!chunk) continue;
      if (marker && Number(chunk[1]) === marker.generation) redo.push([Number(chunk[2]), value]);
    }
    if (!marker) {
      this.#legacy = true;
      return undefined;
    }
    redo.sort((a, b) => a[0] - b[0]);
    for (const [, value] of redo) {
      for (const line of Buffer.from(value).toString('utf8').split('\n')) {
        if (line === '') continue;
        const [name, text] = splitRecord(line, '\t', this.#owner);
        if (text === '') entries.delete(name);
        else entries.set(name, text);
      }
    }
    this.#generation = marker.generation;
    return { generation: marker.generation, meta: marker.meta, entries };
  }

  /**
   * Writes one checkpoint; resolves with the bytes written. Rejects when it did not commit, or committed but
   * some entries may not be in place (then the caller passes those changes again with the next checkpoint).
   */
  async save(write: ChangelogWrite): Promise<number> {
    const generation = ++this.#generation;
    const chunks = chunkLines(write.changes, this.#options.chunkBytes);
    const chunkRecords = chunks.map(
      (chunk, index) => [this.#key(`wal.${generation}.${index}`), chunk] as const,
    );
    await this.#store.saveMany(chunkRecords);
    const marker = Buffer.from(
      JSON.stringify({ format: FORMAT, generation, chunks: chunks.length, meta: write.meta }),
    );
    await this.#store.saveMany([[this.#key('marker'), marker]]);
    const entryRecords: Array<readonly [string, Uint8Array | null]> = write.changes.map(([name, text]) => [
      this.#key(`e.${entryDigest(name)}`),
      text === null ? null : Buffer.from(`${name}\n${text}`),
    ]);
    if (this.#legacy) entryRecords.push([this.#owner, null]);
    await this.#store.saveMany(entryRecords);
    this.#legacy = false;
    let bytes = marker.byteLength;
    for (const [, value] of [...chunkRecords, ...entryRecords]) bytes += value?.byteLength ?? 0;
    // Every chunk is done with now: this checkpoint's are applied, older ones are never read again (their
    // generation is not the marker's). Removing them can wait for the next checkpoint.
    await this.#store.removePrefix(this.#key('wal.')).catch(() => undefined);
    return bytes;
  }

  #key(rest: string): string {
    return `${this.#owner}.cl.${rest}`;
  }
}

/** Change lines `name\tvalue` (value empty for a removal) in chunks of about `chunkBytes`. */
function chunkLines(changes: ReadonlyArray<readonly [string, string | null]>, chunkBytes: number): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  let size = 0;
  for (const [name, text] of changes) {
    const line = `${name}\t${text ?? ''}\n`;
    const length = Buffer.byteLength(line);
    if (size > 0 && size + length > chunkBytes) {
      chunks.push(Buffer.from(lines.join('')));
      lines = [];
      size = 0;
    }
    lines.push(line);
    size += length;
  }
  if (lines.length > 0) chunks.push(Buffer.from(lines.join('')));
  return chunks;
}

/** An entry's key: names may hold any character and be long, the digest is 43 of base64url. */
function entryDigest(name: string): string {
  return createHash('sha256').update(name).digest('base64url');
}

/** A record's name and value, split at the first `separator` (a name is JSON text: it holds neither raw). */
function splitRecord(text: string, separator: string, owner: string): [string, string] {
  const at = text.indexOf(separator);
  if (at < 0) throw new EdrError('EDR_ERR_BAD_ENCODING', `changelog of ${owner}: a record without its name`);
  return [text.slice(0, at), text.slice(at + 1)];
}

function parseMarker(bytes: Uint8Array, owner: string): z.infer<typeof MarkerSchema> {
  try {
    return MarkerSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (error) {
    throw new EdrError('EDR_ERR_BAD_ENCODING', `changelog of ${owner}: unreadable marker`, { cause: error });
  }
}
