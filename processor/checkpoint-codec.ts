import { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import { EdrError } from '../core/errors.ts';

/**
 * The whole-state checkpoints of earlier versions (before the per-entry changelog, transport/changelog.ts):
 * read once to migrate a partition (partition-engines.ts); encodeSnapshot stays to write them in tests and to
 * show their cost beside the changelog's in bench:state.
 * Checkpoint bytes of an engine snapshot: gzip of JSON lines. The first line names the format; each later
 * line is `[path, value]` (set the value at path) or `[path, value, 1]` (append it to what is there). A
 * snapshot whose JSON fits PIECE_CHARS is one line; a larger one is written in pieces of about that size, so
 * neither saving nor restoring ever builds a string near V8's limit (about 2^29 characters), whatever the
 * state holds. Checkpoints written before this format (one JSON document, no header) are still read.
 */
const HEADER = '"edr-engine-snapshot/2"';
/** Characters of JSON per line at most (a single number or short string may exceed it by its own length). */
export const PIECE_CHARS = 32 * 1024 * 1024;
const APPEND = 1;
/** Checkpoints are rewritten every few seconds: level 1 took half the checkpoint time of 6 in bench:pipeline, for 4 % more bytes. */
const GZIP = { level: 1 };

type Path = Array<string | number>;

export async function encodeSnapshot(snapshot: unknown, pieceChars = PIECE_CHARS): Promise<Buffer> {
  // gzip members concatenated make one gzip stream: each run of pieces is compressed on its own, on this
  // thread (the libuv pool is the sinks' file I/O; handing it megabytes of deflate slowed them).
  const members: Buffer[] = [];
  let run: string[] = [];
  let runChars = 0;
  for (const part of encodeParts(snapshot, pieceChars)) {
    run.push(part);
    runChars += part.length;
    if (runChars >= pieceChars) {
      members.push(gzipSync(run.join(''), GZIP));
      run = [];
      runChars = 0;
    }
  }
  if (run.length > 0) members.push(gzipSync(run.join(''), GZIP));
  return Buffer.concat(members);
}

export async function decodeSnapshot(bytes: Uint8Array): Promise<unknown> {
  const lines = jsonLines(Readable.from([bytes]).pipe(createGunzip()));
  const first = await lines.next();
  if (first.done) throw new EdrError('EDR_ERR_BAD_ENCODING', 'checkpoint is empty');
  if (first.value !== HEADER) return JSON.parse(first.value);
  const root: { value?: unknown } = {};
  for await (const line of lines) apply(root, JSON.parse(line));
  return root.value;
}

function* encodeParts(snapshot: unknown, pieceChars: number): Generator<string> {
  yield HEADER;
  for (const line of pieces(snapshot, [], pieceChars)) {
    yield '\n';
    yield* line;
  }
}

/** Each piece as its parts (prefix, JSON, suffix), so a large JSON text is never copied into a line. */
function* pieces(value: unknown, path: Path, limit: number): Generator<string[]> {
  const text = stringifyWithin(value, limit);
  if (text !== undefined) {
    yield piece(path, text);
    return;
  }
  if (typeof value === 'string') {
    yield piece(path, '""');
    // Escaping makes a character at most 6 long in JSON.
    const step = Math.max(1, Math.floor(limit / 6));
    for (let at = 0; at < value.length; at += step) {
      yield piece(path, JSON.stringify(value.slice(at, at + step)), APPEND);
    }
    return;
  }
  const isArray = Array.isArray(value);
  yield piece(path, isArray ? '[]' : '{}');
  let group: string[] = [];
  let groupChars = 0;
  const flush = function* (): Generator<string[]> {
    if (group.length === 0) return;
    yield piece(path, isArray ? `[${group.join(',')}]` : `{${group.join(',')}}`, APPEND);
    group = [];
    groupChars = 0;
  };
  const entries: Iterable<[string | number, unknown]> = isArray
    ? (value as unknown[]).entries()
    : Object.entries(value as object);
  for (const [key, child] of entries) {
    if (!isArray && (child === undefined || typeof child === 'function')) continue;
    const childText = stringifyWithin(child ?? null, limit);
    if (childText === undefined) {
      yield* flush();
      yield* pieces(child, [...path, key], limit);
      continue;
    }
    const entry = isArray ? childText : `${JSON.stringify(key)}:${childText}`;
    if (groupChars + entry.length > limit) yield* flush();
    group.push(entry);
    groupChars += entry.length + 1;
  }
  yield* flush();
}

function piece(path: Path, json: string, op?: typeof APPEND): string[] {
  return [`[${JSON.stringify(path)},`, json, op === undefined ? ']' : `,${op}]`];
}

/** The JSON of `value` when it is at most `limit` characters; undefined when longer or too long to build. */
function stringifyWithin(value: unknown, limit: number): string | undefined {
  try {
    const text = JSON.stringify(value);
    return text.length <= limit ? text : undefined;
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

function apply(root: { value?: unknown }, line: unknown): void {
  if (!Array.isArray(line) || !Array.isArray(line[0]) || (line[2] !== undefined && line[2] !== APPEND)) {
    throw new EdrError('EDR_ERR_BAD_ENCODING', 'checkpoint line is not [path, value] or [path, value, 1]');
  }
  const path = line[0] as unknown[];
  let holder: object = root;
  let key: string | number = 'value';
  for (const step of path) {
    const next: unknown = Object.hasOwn(holder, key) ? Reflect.get(holder, key) : undefined;
    if ((typeof step !== 'string' && typeof step !== 'number') || typeof next !== 'object' || next === null) {
      throw new EdrError('EDR_ERR_BAD_ENCODING', `checkpoint path ${JSON.stringify(path)} is not there`);
    }
    holder = next;
    key = step;
  }
  const value: unknown = line[1];
  if (line[2] === undefined) {
    define(holder, key, value);
    return;
  }
  const current: unknown = Object.hasOwn(holder, key) ? Reflect.get(holder, key) : undefined;
  if (Array.isArray(current) && Array.isArray(value)) for (const item of value) current.push(item);
  else if (typeof current === 'string' && typeof value === 'string') define(holder, key, current + value);
  else if (isRecord(current) && isRecord(value)) {
    for (const [name, item] of Object.entries(value)) define(current, name, item);
  } else {
    throw new EdrError('EDR_ERR_BAD_ENCODING', `checkpoint append at ${JSON.stringify(path)} mismatches`);
  }
}

/** An own data property, whatever the key: `__proto__` in agent data stays data, as JSON.parse keeps it. */
function define(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The lines of a byte stream, each decoded on its own (no line ever joins the next). */
async function* jsonLines(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  for await (const chunk of stream) {
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      pending.push(chunk.subarray(start, end));
      yield Buffer.concat(pending).toString('utf8');
      pending = [];
      start = end + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) yield Buffer.concat(pending).toString('utf8');
}
