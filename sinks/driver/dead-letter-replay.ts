import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { Alert } from '../../engine/alert.ts';
import type { Envelope } from '../../engine/model/index.ts';
import type { SinkRouter } from '../router.ts';
import { RotatingJsonlFile } from '../shared/rotating-jsonl.ts';
import { ITEM_KINDS, type SinkItem } from '../types.ts';
import type { DeadLetter, DeadLetterWriter } from './dead-letter.ts';

/**
 * Puts dead letters back to the sink that could not take them. Idempotent by id: a letter delivered (written,
 * or already held by the destination) is recorded in a ledger, and a later replay skips what the ledger holds,
 * so sinks that cannot deduplicate (files, HEC, webhooks) do not get it twice. Elasticsearch would drop a
 * repeat anyway (`_id`); the ledger saves the round trip.
 */

const LetterSchema = z.object({
  sink: z.string().min(1),
  kind: z.enum(ITEM_KINDS),
  id: z.string().min(1),
  reason: z.string(),
  code: z.string().optional(),
  attempts: z.number(),
  deadLetteredAt: z.string(),
  item: z.record(z.string(), z.unknown()),
});

/** A dead letter with where it was read. */
export interface StoredLetter {
  letter: DeadLetter;
  file: string;
  line: number;
}

export interface UnreadableLine {
  file: string;
  line: number;
  reason: string;
}

/**
 * The dead-letter files of `path`: its rotated files oldest first (their names sort by time), then the live
 * one, each read only up to the size it had when called, so letters written while replaying wait for the next
 * replay.
 */
export async function deadLetterFiles(path: string): Promise<Array<{ file: string; bytes: number }>> {
  const ext = extname(path);
  const stem = basename(path, ext);
  const dir = dirname(path);
  const names = await readdir(dir).catch(() => [] as string[]);
  const rotated = names
    .filter((name) => name.startsWith(`${stem}.`) && name.endsWith(ext) && name !== `${stem}${ext}`)
    .sort()
    .map((name) => join(dir, name));
  const files: Array<{ file: string; bytes: number }> = [];
  for (const file of [...rotated, path]) {
    const bytes = await stat(file).then(
      (info) => info.size,
      () => -1,
    );
    if (bytes > 0) files.push({ file, bytes });
  }
  return files;
}

/** Every letter of the files, in order; a line that is not a dead letter goes to `onUnreadable`. */
export async function* readDeadLetters(
  files: ReadonlyArray<{ file: string; bytes: number }>,
  onUnreadable: (line: UnreadableLine) => void,
): AsyncGenerator<StoredLetter> {
  for (const { file, bytes } of files) {
    const lines = createInterface({ input: createReadStream(file, { end: bytes - 1 }), crlfDelay: Infinity });
    let number = 0;
    for await (const text of lines) {
      number++;
      if (text.trim() === '') continue;
      const letter = parseLetter(text);
      if (typeof letter === 'string') onUnreadable({ file, line: number, reason: letter });
      else yield { letter, file, line: number };
    }
  }
}

function parseLetter(text: string): DeadLetter | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const parsed = LetterSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `not a dead letter: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`;
  }
  // The item as it was stored: zod would rebuild it (and drop keys such as __proto__).
  const item = (value as { item: Record<string, unknown> }).item;
  const idField = parsed.data.kind === 'event' ? 'eventId' : 'alertId';
  if (item[idField] !== parsed.data.id || typeof item.agentId !== 'string') {
    return `not a dead letter: item.${idField} does not match id`;
  }
  return { ...parsed.data, code: parsed.data.code ?? 'unknown', item: item as unknown as Envelope | Alert };
}

export function itemOfLetter(letter: DeadLetter): SinkItem {
  return letter.kind === 'event'
    ? { kind: 'event', event: letter.item as Envelope }
    : { kind: 'alert', alert: letter.item as Alert };
}

/** What identifies a letter for the ledger: the sink, and the item by kind, agent and id. */
export function letterKey(letter: DeadLetter): string {
  return JSON.stringify([letter.sink, letter.kind, letter.item.agentId, letter.id]);
}

/** The letters already delivered by a replay, one JSON line each, kept next to the dead-letter file. */
export class ReplayLedger {
  private readonly file: RotatingJsonlFile;

  private constructor(
    readonly path: string,
    private readonly keys: Set<string>,
  ) {
    // Never rotated: a pruned ledger would let a replay deliver again what it already did.
    this.file = new RotatingJsonlFile({ path, maxBytes: Number.MAX_SAFE_INTEGER, maxFiles: 0, fsync: true });
  }

  static async open(path: string): Promise<ReplayLedger> {
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    const keys = new Set<string>();
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const key = (JSON.parse(line) as { key?: unknown }).key;
        if (typeof key === 'string') keys.add(key);
      } catch {
        // A line torn by a crash: that letter is replayed again, as at-least-once allows.
      }
    }
    return new ReplayLedger(path, keys);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  get size(): number {
    return this.keys.size;
  }

  async record(keys: readonly string[], at: Date): Promise<void> {
    const fresh = keys.filter((key) => !this.keys.has(key));
    await this.file.append(fresh.map((key) => JSON.stringify({ key, replayedAt: at.toISOString() })));
    for (const key of fresh) this.keys.add(key);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** The default ledger path: `<dead-letter stem>-replayed.jsonl` beside it (never matched as a rotated file). */
export function ledgerPathFor(deadLetterPath: string): string {
  const ext = extname(deadLetterPath);
  return join(dirname(deadLetterPath), `${basename(deadLetterPath, ext)}-replayed${ext || '.jsonl'}`);
}

/** Remembers which items were dead-lettered again while replaying, and stores them as usual. */
export class RecordingDeadLetterWriter implements DeadLetterWriter {
  readonly again = new Set<string>();

  constructor(private readonly inner: DeadLetterWriter) {}

  async write(letters: readonly DeadLetter[]): Promise<void> {
    await this.inner.write(letters);
    for (const letter of letters) this.again.add(letterKey(letter));
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}

/** Where each letter went; `failed` are dead-lettered again (with their new reason, in the dead letters). */
export interface ReplaySummary {
  read: number;
  /** Delivered now (written, or already held by the destination); with `dryRun`, what would be sent. */
  replayed: number;
  failed: number;
  /** In the ledger: delivered by an earlier replay. */
  alreadyReplayed: number;
  /** The same item and sink once more in the files (a batch dead-lettered twice): sent once. */
  repeated: number;
  /** Named a sink the config no longer has, or one whose routing keys no longer take the item. */
  noSink: Record<string, number>;
  unreadable: number;
  bySink: Record<string, { replayed: number; failed: number }>;
}

export interface ReplayOptions {
  letters: AsyncIterable<StoredLetter>;
  /** Built from the current sink config; its dead-letter writer must be `recorder`. */
  router: Pick<SinkRouter, 'deliver' | 'routeNames' | 'wants'>;
  recorder: RecordingDeadLetterWriter;
  ledger: ReplayLedger;
  dryRun: boolean;
  /** Letters per delivery. */
  batchSize: number;
  clock: () => number;
  /** Called after each delivery with the counts so far. */
  onProgress?: (summary: ReplaySummary) => void;
}

export function emptySummary(): ReplaySummary {
  return {
    read: 0,
    replayed: 0,
    failed: 0,
    alreadyReplayed: 0,
    repeated: 0,
    noSink: {},
    unreadable: 0,
    bySink: {},
  };
}

export async function replayDeadLetters(
  options: ReplayOptions,
  summary: ReplaySummary = emptySummary(),
): Promise<ReplaySummary> {
  const { router, ledger } = options;
  const routes = new Set(router.routeNames());
  const seen = new Set<string>();
  const pending = new Map<string, DeadLetter[]>();
  const flush = async (sink: string) => {
    const letters = pending.get(sink) ?? [];
    pending.delete(sink);
    if (letters.length === 0) return;
    summary.bySink[sink] ??= { replayed: 0, failed: 0 };
    const tally = summary.bySink[sink];
    if (options.dryRun) {
      summary.replayed += letters.length;
      tally.replayed += letters.length;
      return;
    }
    const items = letters.map(itemOfLetter);
    await router.deliver(
      {
        events: items.flatMap((item) => (item.kind === 'event' ? [item.event] : [])),
        alerts: items.flatMap((item) => (item.kind === 'alert' ? [item.alert] : [])),
      },
      { only: [sink] },
    );
    const delivered = letters.map(letterKey).filter((key) => !options.recorder.again.has(key));
    await ledger.record(delivered, new Date(options.clock()));
    summary.replayed += delivered.length;
    summary.failed += letters.length - delivered.length;
    tally.replayed += delivered.length;
    tally.failed += letters.length - delivered.length;
    options.onProgress?.(summary);
  };
  for await (const { letter } of options.letters) {
    summary.read++;
    const key = letterKey(letter);
    if (ledger.has(key)) summary.alreadyReplayed++;
    else if (seen.has(key)) summary.repeated++;
    else if (!routes.has(letter.sink) || !router.wants(letter.sink, itemOfLetter(letter))) {
      summary.noSink[letter.sink] = (summary.noSink[letter.sink] ?? 0) + 1;
    } else {
      seen.add(key);
      const list = pending.get(letter.sink) ?? [];
      list.push(letter);
      pending.set(letter.sink, list);
      if (list.length >= options.batchSize) await flush(letter.sink);
    }
  }
  for (const sink of [...pending.keys()]) await flush(sink);
  return summary;
}
