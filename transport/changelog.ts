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
 * others never. So a checkpoint (generation G) is a redo log, committed by a marker:
 *   1. its changes, in chunks of lines, under `<owner>.cl.wal.<G>.<i>`;
 *   2. the marker `<owner>.cl.marker`: the redo logs committed and not yet applied (G the last), and the
 *      engine meta. Written last, it is the commit point.
 * Once the logs hold `applyBytes` or `maxLogs` checkpoints, their changes (the newest value of each entry
 * only: an entry changed in every checkpoint is written once) go to the entries' own keys
 * `<owner>.cl.e.<digest of the name>`, then a marker without logs, then the chunks are removed. A restore
 * reads the entries and applies the marker's logs over them in order (a crash while applying left some
 * entries newer: applying the logs again ends at the same values). Chunks of a checkpoint whose marker never
 * landed are in no marker's list: never read, and removed with the next apply.
 */

const FORMAT = 'edr-changelog/1';
const MarkerSchema = z.strictObject({
  format: z.literal(FORMAT),
  generation: z.int().min(1),
  /** Redo logs committed and not yet applied to the entries, oldest first. */
  logs: z.array(z.strictObject({ generation: z.int().min(1), chunks: z.int().min(0) })),
  /** The engine's meta as JSON text. */
  meta: z.string(),
});
type Marker = z.infer<typeof MarkerSchema>;

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
  /** Redo-log bytes, and checkpoints, after which the logs are applied to the entries. */
  applyBytes: number;
  maxLogs: number;
}

export class PartitionChangelog {
  readonly #store: CheckpointStore;
  readonly #owner: string;
  readonly #options: ChangelogOptions;
  #generation = 0;
  #meta = '';
  /** The marker's logs, and the newest value of each entry they change (what an apply writes). */
  #logs: Marker['logs'] = [];
  readonly #unapplied = new Map<string, string | null>();
  #logBytes = 0;
  /** The whole-state checkpoint of earlier versions under the owner's key, removed once a marker landed. */
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
    if (!markerBytes) {
      this.#legacy = true;
      return undefined;
    }
    const marker = parseMarker(markerBytes, this.#owner);
    const entries = new Map<string, string>();
    for (const [key, value] of records) {
      if (!key.startsWith('e.')) continue;
      const [name, text] = splitRecord(utf8(value), '\n', this.#owner);
      entries.set(name, text);
    }
    for (const { generation, chunks } of marker.logs) {
      for (let index = 0; index < chunks; index++) {
        const chunk = records.get(`wal.${generation}.${index}`);
        if (!chunk) {
          throw new EdrError(
            'EDR_ERR_BAD_ENCODING',
            `changelog of ${this.#owner}: redo chunk ${generation}.${index} missing`,
          );
        }
        this.#logBytes += chunk.byteLength;
        for (const line of utf8(chunk).split('\n')) {
          if (line === '') continue;
          const [name, text] = splitRecord(line, '\t', this.#owner);
          if (text === '') entries.delete(name);
          else entries.set(name, text);
          this.#unapplied.set(name, text === '' ? null : text);
        }
      }
    }
    this.#generation = marker.generation;
    this.#meta = marker.meta;
    this.#logs = marker.logs;
    return { generation: marker.generation, meta: marker.meta, entries };
  }

  /**
   * Writes one checkpoint; resolves with the bytes written once its marker landed, rejects when it did not
   * commit (the caller passes those changes again with the next checkpoint).
   */
  async save(write: ChangelogWrite): Promise<number> {
    const generation = ++this.#generation;
    const chunks = chunkLines(write.changes, this.#options.chunkBytes);
    await this.#store.saveMany(
      chunks.map((chunk, index) => [this.#key(`wal.${generation}.${index}`), chunk] as const),
    );
    const logs = [...this.#logs, { generation, chunks: chunks.length }];
    const marker = markerBytes({ format: FORMAT, generation, logs, meta: write.meta });
    await this.#store.saveMany([[this.#key('marker'), marker]]);
    this.#logs = logs;
    this.#meta = write.meta;
    let bytes = marker.byteLength;
    for (const chunk of chunks) bytes += chunk.byteLength;
    this.#logBytes += bytes;
    for (const [name, text] of write.changes) this.#unapplied.set(name, text);
    if (this.#legacy) {
      await this.#store.saveMany([[this.#owner, null]]).then(
        () => {
          this.#legacy = false;
        },
        () => undefined,
      );
    }
    if (this.#logBytes >= this.#options.applyBytes || this.#logs.length >= this.#options.maxLogs) {
      // Committed already: an apply that fails is tried again after the next checkpoint.
      bytes += await this.#apply().catch(() => 0);
    }
    return bytes;
  }

  /** Writes the logs' changes to the entries' keys, then a marker without logs; resolves with the bytes. */
  async #apply(): Promise<number> {
    const records: Array<readonly [string, Uint8Array | null]> = [];
    let bytes = 0;
    for (const [name, text] of this.#unapplied) {
      const value = text === null ? null : Buffer.from(`${name}\n${text}`);
      records.push([this.#key(`e.${entryDigest(name)}`), value]);
      bytes += value?.byteLength ?? 0;
    }
    await this.#store.saveMany(records);
    const marker = markerBytes({ format: FORMAT, generation: this.#generation, logs: [], meta: this.#meta });
    await this.#store.saveMany([[this.#key('marker'), marker]]);
    this.#logs = [];
    this.#unapplied.clear();
    this.#logBytes = 0;
    // Every chunk is done with now (applied, or of a checkpoint that never committed).
    await this.#store.removePrefix(this.#key('wal.')).catch(() => undefined);
    return bytes + marker.byteLength;
  }

  #key(rest: string): string {
    return `${this.#owner}.cl.${rest}`;
  }
}

function markerBytes(marker: Marker): Buffer {
  return Buffer.from(JSON.stringify(marker));
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

/** UTF-8 text of stored bytes, read in place (Buffer.from of a Uint8Array would copy it first). */
function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function parseMarker(bytes: Uint8Array, owner: string): Marker {
  try {
    return MarkerSchema.parse(JSON.parse(utf8(bytes)));
  } catch (error) {
    throw new EdrError('EDR_ERR_BAD_ENCODING', `changelog of ${owner}: unreadable marker`, { cause: error });
  }
}
