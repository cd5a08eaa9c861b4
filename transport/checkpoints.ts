import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EdrError } from '../core/errors.ts';

/**
 * Durable key → bytes storage for processor state (each partition's changelog, see changelog.ts). `save` and
 * `saveMany` resolve only once the broker stored every value; `load` and `loadPrefix` return the newest values
 * saved by any process. Values of any size: one larger than the broker's record limit is stored in parts
 * (see below). Keys are at most a few hundred characters of `-/_=.` letters and digits, plus what a
 * partition name holds.
 */
export interface CheckpointStore {
  load(key: string): Promise<Uint8Array | undefined>;
  save(key: string, value: Uint8Array): Promise<void>;
  /** Every value under a key starting with `prefix`, by the rest of its key. */
  loadPrefix(prefix: string): Promise<Map<string, Uint8Array>>;
  /** Saves each value, or removes the key where it is null; keys are distinct, stored in no given order. */
  saveMany(records: ReadonlyArray<readonly [key: string, value: Uint8Array | null]>): Promise<void>;
  /** Removes every key starting with `prefix` (one request where the broker can). */
  removePrefix(prefix: string): Promise<void>;
  close(): Promise<void>;
}

/** In-process checkpoints: enough for the single-process mode, where nothing survives a restart anyway. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #values = new Map<string, Uint8Array>();

  async load(key: string): Promise<Uint8Array | undefined> {
    return this.#values.get(key);
  }

  async save(key: string, value: Uint8Array): Promise<void> {
    this.#values.set(key, value);
  }

  async loadPrefix(prefix: string): Promise<Map<string, Uint8Array>> {
    const found = new Map<string, Uint8Array>();
    for (const [key, value] of this.#values) {
      if (key.startsWith(prefix)) found.set(key.slice(prefix.length), value);
    }
    return found;
  }

  async saveMany(records: ReadonlyArray<readonly [string, Uint8Array | null]>): Promise<void> {
    for (const [key, value] of records) {
      if (value === null) this.#values.delete(key);
      else this.#values.set(key, value);
    }
  }

  async removePrefix(prefix: string): Promise<void> {
    for (const key of this.#values.keys()) if (key.startsWith(prefix)) this.#values.delete(key);
  }

  async close(): Promise<void> {}
}

/*
 * A value larger than a record may be is saved as parts under keys of their own, named by a version unique to
 * that save, then a manifest under the key itself naming the version, the part count, the length and the
 * SHA-256 of the whole. The manifest is written last, so a reader sees either the previous value or the whole
 * new one: parts of two versions never mix (the digest is checked), and a save that failed half-way leaves the
 * previous manifest and its parts as they were. Parts of older versions are removed after the manifest.
 */

/** Leads a manifest; a value starting with it is always saved in parts, so the two cannot be confused. */
const MANIFEST_MAGIC = Buffer.from('edr-checkpoint-parts/1\n');

const ManifestSchema = z.strictObject({
  version: z.string().regex(/^[0-9a-f-]{1,64}$/),
  parts: z.int().min(1),
  bytes: z.int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type PartsManifest = z.infer<typeof ManifestSchema>;

/** Whether `value` must go in parts: too large for one record, or looking like a manifest itself. */
export function needsParts(value: Uint8Array, partBytes: number): boolean {
  return value.byteLength > partBytes || startsWithMagic(value);
}

export function splitParts(
  value: Uint8Array,
  partBytes: number,
  version: string,
): { manifest: Uint8Array; parts: Uint8Array[] } {
  const parts: Uint8Array[] = [];
  for (let start = 0; start < value.byteLength || parts.length === 0; start += partBytes) {
    parts.push(value.subarray(start, start + partBytes));
  }
  const manifest: PartsManifest = {
    version,
    parts: parts.length,
    bytes: value.byteLength,
    sha256: digest(value),
  };
  return { manifest: Buffer.concat([MANIFEST_MAGIC, Buffer.from(JSON.stringify(manifest))]), parts };
}

/** The manifest a stored value is, or undefined when the value is the checkpoint itself. */
export function readManifest(value: Uint8Array, key: string): PartsManifest | undefined {
  if (!startsWithMagic(value)) return undefined;
  try {
    return ManifestSchema.parse(JSON.parse(Buffer.from(value.subarray(MANIFEST_MAGIC.length)).toString()));
  } catch (error) {
    throw new EdrError('EDR_ERR_BAD_ENCODING', `checkpoint ${key}: unreadable manifest`, { cause: error });
  }
}

/** The whole value from its parts, or undefined when one is missing or they are not the manifest's. */
export function joinParts(
  manifest: PartsManifest,
  parts: ReadonlyArray<Uint8Array | undefined>,
): Uint8Array | undefined {
  if (parts.length !== manifest.parts || parts.some((part) => part === undefined)) return undefined;
  const value = Buffer.concat(parts as Uint8Array[]);
  return value.byteLength === manifest.bytes && digest(value) === manifest.sha256 ? value : undefined;
}

/** A manifest whose parts never all arrived: the checkpoint is unreadable (the processor starts empty). */
export function missingParts(key: string, manifest: PartsManifest): EdrError {
  return new EdrError(
    'EDR_ERR_BAD_ENCODING',
    `checkpoint ${key}: parts of version ${manifest.version} are missing or do not match its digest`,
  );
}

function startsWithMagic(value: Uint8Array): boolean {
  return (
    value.byteLength >= MANIFEST_MAGIC.length &&
    MANIFEST_MAGIC.equals(value.subarray(0, MANIFEST_MAGIC.length))
  );
}

function digest(value: Uint8Array): string {
  return createHash('sha256').update(value).digest('hex');
}
