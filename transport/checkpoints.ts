/**
 * Durable key → bytes storage for processor state (the engine snapshot of each partition). `save` resolves only
 * once the broker stored the value; `load` returns the newest value saved under the key by any process.
 */
export interface CheckpointStore {
  load(key: string): Promise<Uint8Array | undefined>;
  save(key: string, value: Uint8Array): Promise<void>;
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

  async close(): Promise<void> {}
}
