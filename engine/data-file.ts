import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  type Stats,
  statSync,
} from 'node:fs';
import { extname, join } from 'node:path';
import { type CST, LineCounter, Parser, parseAllDocuments } from 'yaml';
import { err, ok, type Result } from '../core/result.ts';

/**
 * File access for the loaders (rules, intel, inventory): the only place in engine/ that touches the disk.
 * The engine itself receives parsed objects. Whatever is in a watched folder may be hostile or broken (a
 * symlink to /dev/zero, a FIFO, a YAML alias bomb, 10,000 nested brackets): every file is refused with a
 * reason instead of hanging, exhausting memory or overflowing the stack of the parser that reads it.
 */
export interface FileLimits {
  /** Largest file read, in bytes. */
  maxBytes: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Most values (objects, arrays, scalars) in a file once YAML aliases are expanded. */
  maxNodes: number;
  /** Most YAML aliases (`*name`) in a file. */
  maxAliases: number;
}

/** For the intel and inventory loaders, whose files may be large; rule files have tighter limits. */
export const DEFAULT_FILE_LIMITS: Readonly<FileLimits> = Object.freeze({
  maxBytes: 256 * 2 ** 20,
  maxDepth: 64,
  maxNodes: 20_000_000,
  maxAliases: 100,
});

/**
 * Files under `path` (itself when a file) whose extension is in `extensions`, sorted for a stable order.
 * Names starting with a dot are skipped (editor locks and swap files, Kubernetes' `..data` copies of a
 * mounted folder); symbolic links to folders are not followed. Throws with the reason (a missing path,
 * more than `maxFiles` files).
 */
export function listFiles(
  path: string,
  extensions: readonly string[],
  maxFiles = Number.POSITIVE_INFINITY,
): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  const pending = [path];
  for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = join(folder, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (extensions.includes(extname(entry.name).toLowerCase())) out.push(full);
      if (out.length > maxFiles) throw new Error(`more than ${maxFiles} files`);
    }
  }
  return out.sort();
}

/** The reason a file operation failed, in words (errno codes for the usual ones). */
export function describeError(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
      return 'permission denied';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    default:
      return (error as Error).message;
  }
}

function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The text of a regular file of at most `maxBytes`. The file is opened without blocking (a FIFO would wait
 * for a writer forever) and checked on the open descriptor, so a file swapped after a check is still the
 * one checked; reading stops one byte past the limit, so a file that grows meanwhile is refused too.
 */
export function readText(path: string, maxBytes = DEFAULT_FILE_LIMITS.maxBytes): Result<string, string> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    return err(describeError(error));
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return err(`${fileKind(stats)}: only regular files are read`);
    if (stats.size > maxBytes) return err(`${stats.size} bytes, more than the limit of ${maxBytes}`);
    const buffer = Buffer.allocUnsafe(stats.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        return err(`grew past ${stats.size} bytes while being read; read it again once it is written`);
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return ok(buffer.toString('utf8', 0, length));
  } catch (error) {
    return err(describeError(error));
  } finally {
    closeSync(fd);
  }
}

/** Why a file's content is refused, and the `id` of the object it lies in when there is one (a rule's id). */
export interface StructureProblem {
  message: string;
  owner?: string;
}

interface Visit<T> {
  node: T;
  depth: number;
  parent: Visit<T> | undefined;
}

/** The `id` of the nearest enclosing object that has a string one, found by `idOf`. */
function ownerOf<T>(visit: Visit<T> | undefined, idOf: (node: T) => string | undefined): string | undefined {
  for (let at = visit; at !== undefined; at = at.parent) {
    const id = idOf(at.node);
    if (id !== undefined) return id;
  }
  return undefined;
}

/** The text of a scalar token, without its quotes. */
function scalarText(token: CST.Token | null | undefined): string | undefined {
  if (!token) return undefined;
  if (token.type === 'scalar') return token.source;
  if (token.type === 'single-quoted-scalar' || token.type === 'double-quoted-scalar')
    return token.source.slice(1, -1);
  return undefined;
}

function yamlId(token: CST.Token | null | undefined): string | undefined {
  if (!token || (token.type !== 'block-map' && token.type !== 'flow-collection')) return undefined;
  for (const entry of token.items) if (scalarText(entry.key) === 'id') return scalarText(entry.value);
  return undefined;
}

/**
 * Depth and alias count of YAML text, from yaml's concrete syntax tree: its lexer and parser keep their own
 * stacks, while composing a document recurses per level (a few thousand levels crash the process), so the
 * shape is checked here first, without recursion.
 */
function yamlShapeProblem(text: string, limits: FileLimits): StructureProblem | undefined {
  const lines = new LineCounter();
  const problem = (message: string, offset: number, visit: Visit<CST.Token | null | undefined>) => {
    const owner = ownerOf(visit, yamlId);
    return { message: `${message} (line ${lines.linePos(offset).line})`, ...(owner ? { owner } : {}) };
  };
  let aliases = 0;
  const pending: Array<Visit<CST.Token | null | undefined>> = [];
  for (const top of new Parser(lines.addNewLine).parse(text)) {
    pending.push({ node: top, depth: 0, parent: undefined });
    for (let visit = pending.pop(); visit !== undefined; visit = pending.pop()) {
      const { node: token, depth } = visit;
      if (!token) continue;
      switch (token.type) {
        case 'document':
          pending.push({ node: token.value, depth, parent: visit });
          break;
        case 'alias':
          aliases++;
          if (aliases > limits.maxAliases)
            return problem(`more than ${limits.maxAliases} YAML aliases`, token.offset, visit);
          break;
        case 'block-map':
        case 'block-seq':
        case 'flow-collection':
          if (depth + 1 > limits.maxDepth)
            return problem(`nested deeper than ${limits.maxDepth} levels`, token.offset, visit);
          for (const entry of token.items) {
            if ('key' in entry) pending.push({ node: entry.key, depth: depth + 1, parent: visit });
            pending.push({ node: entry.value, depth: depth + 1, parent: visit });
          }
          break;
      }
    }
  }
  return undefined;
}

function valueId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Why a parsed value is too deep or too large for the limits, walked without recursion; undefined when it
 * fits. Values reached through several YAML aliases count each time, as a validator walking them would.
 */
export function shapeProblem(
  value: unknown,
  limits: Pick<FileLimits, 'maxDepth' | 'maxNodes'>,
): StructureProblem | undefined {
  let nodes = 0;
  const pending: Array<Visit<unknown>> = [{ node: value, depth: 0, parent: undefined }];
  for (let visit = pending.pop(); visit !== undefined; visit = pending.pop()) {
    nodes++;
    if (nodes > limits.maxNodes) return { message: `more than ${limits.maxNodes} values` };
    if (typeof visit.node !== 'object' || visit.node === null) continue;
    const depth = visit.depth + 1;
    if (depth > limits.maxDepth) {
      const owner = ownerOf(visit, valueId);
      return { message: `nested deeper than ${limits.maxDepth} levels`, ...(owner ? { owner } : {}) };
    }
    for (const child of Object.values(visit.node)) pending.push({ node: child, depth, parent: visit });
  }
  return undefined;
}

/**
 * Parses JSON (`.json`) or YAML (anything else) within `limits`; the problem names the line when known and
 * the `id` of the object it lies in.
 */
export function parseStructuredContent(
  path: string,
  text: string,
  limits: FileLimits = DEFAULT_FILE_LIMITS,
): Result<unknown, StructureProblem> {
  let value: unknown;
  if (extname(path).toLowerCase() === '.json') {
    try {
      // V8 parses JSON without recursion: depth is checked on the result.
      value = JSON.parse(text);
    } catch (error) {
      return err({ message: `invalid JSON: ${(error as Error).message}` });
    }
  } else {
    const shape = yamlShapeProblem(text, limits);
    if (shape) return err(shape);
    // Several documents (`---`, as Sigma files have) read as the list of them; one reads as itself.
    const parsed = parseAllDocuments(text);
    const documents = Array.isArray(parsed) ? parsed : [];
    const first = documents.flatMap((document) => document.errors)[0];
    if (first) return err({ message: `invalid YAML: ${first.message.split('\n')[0]}` });
    try {
      const values = documents.map((document) => document.toJS({ maxAliasCount: limits.maxAliases }));
      value = values.length > 1 ? values : (values[0] ?? null);
    } catch (error) {
      return err({ message: `invalid YAML: ${(error as Error).message}` });
    }
  }
  const shape = shapeProblem(value, limits);
  return shape ? err(shape) : ok(value);
}

/** parseStructuredContent with the problem as one string. */
export function parseStructured(
  path: string,
  text: string,
  limits: FileLimits = DEFAULT_FILE_LIMITS,
): Result<unknown, string> {
  const parsed = parseStructuredContent(path, text, limits);
  return parsed.ok ? parsed : err(parsed.error.message);
}

export function readStructured(
  path: string,
  limits: FileLimits = DEFAULT_FILE_LIMITS,
): Result<unknown, StructureProblem> {
  const text = readText(path, limits.maxBytes);
  return text.ok ? parseStructuredContent(path, text.value, limits) : err({ message: text.error });
}
