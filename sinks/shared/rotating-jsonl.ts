import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { type Clock, systemClock } from '../../core/clock.ts';

export interface RotatingJsonlOptions {
  path: string;
  /** The live file is rotated before a write that would take it past this size. */
  maxBytes: number;
  /** Rotated files kept besides the live one; older ones are deleted. */
  maxFiles: number;
  /** fdatasync after each append: slower, but a confirmed write survives a power loss. */
  fsync: boolean;
  clock?: Clock;
}

/** Bytes read per step while looking for the last complete line of a file left torn by a crash. */
const TAIL_BLOCK_BYTES = 64 * 1024;

/**
 * Appends whole lines to `path`, renaming it to `<name>.<UTC stamp>-<n>.<ext>` when it is full.
 * Appends are serialized, so lines of concurrent batches never interleave and a line never spans two files.
 * The file never keeps a torn line: an append that fails part way (a full disk) is cut back to the last
 * complete line before the error is reported, and a file left torn by a crash is cut back when opened.
 */
export class RotatingJsonlFile {
  private handle: FileHandle | undefined;
  private size = 0;
  private tail: Promise<void> = Promise.resolve();
  private readonly clock: Clock;

  constructor(private readonly options: RotatingJsonlOptions) {
    this.clock = options.clock ?? systemClock;
  }

  append(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    const chunk = Buffer.from(`${lines.join('\n')}\n`);
    return this.serialize(() => this.write(chunk));
  }

  close(): Promise<void> {
    return this.serialize(async () => {
      await this.handle?.close();
      this.handle = undefined;
    });
  }

  private serialize(operation: () => Promise<void>): Promise<void> {
    const run = this.tail.then(operation);
    // A failed append must reach its caller without poisoning the ones queued after it.
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async write(chunk: Buffer): Promise<void> {
    const handle = await this.open();
    if (this.size > 0 && this.size + chunk.length > this.options.maxBytes) {
      await this.rotate();
      return this.write(chunk);
    }
    try {
      await handle.appendFile(chunk);
      if (this.options.fsync) await handle.datasync();
    } catch (error) {
      await this.cutBack(handle);
      throw error;
    }
    this.size += chunk.length;
  }

  /** Removes what a failed append left after the last complete line, so a retry writes it once, whole. */
  private async cutBack(handle: FileHandle): Promise<void> {
    try {
      await handle.truncate(this.size);
    } catch {
      // Reopening measures the file again and cuts a torn tail then.
      this.handle = undefined;
      await handle.close().catch(() => undefined);
    }
  }

  private async open(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    await mkdir(dirname(this.options.path), { recursive: true });
    const handle = await open(this.options.path, 'a+');
    try {
      const size = (await handle.stat()).size;
      this.size = await completeLength(handle, size);
      if (this.size < size) await handle.truncate(this.size);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    this.handle = handle;
    return handle;
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    await rename(this.options.path, await this.rotatedName());
    await this.prune();
  }

  private async rotatedName(): Promise<string> {
    const { dir, stem, ext } = this.parts();
    const stamp = new Date(this.clock()).toISOString().replace(/[-:]/g, '').replace('.', '');
    for (let n = 0; ; n++) {
      // The padded counter keeps names unique within a millisecond and in chronological sort order.
      const candidate = join(dir, `${stem}.${stamp}-${String(n).padStart(3, '0')}${ext}`);
      if (!(await exists(candidate))) return candidate;
    }
  }

  private async prune(): Promise<void> {
    const { dir, stem, ext } = this.parts();
    const rotated = (await readdir(dir))
      .filter((name) => name.startsWith(`${stem}.`) && name.endsWith(ext) && name !== `${stem}${ext}`)
      .sort();
    const excess = rotated.length - this.options.maxFiles;
    for (const name of rotated.slice(0, Math.max(0, excess))) await rm(join(dir, name), { force: true });
  }

  private parts(): { dir: string; stem: string; ext: string } {
    const ext = extname(this.options.path);
    return { dir: dirname(this.options.path), stem: basename(this.options.path, ext), ext };
  }
}

/** Length of the file up to and including its last newline (0 when it holds no complete line). */
async function completeLength(handle: FileHandle, size: number): Promise<number> {
  let end = size;
  const block = Buffer.alloc(TAIL_BLOCK_BYTES);
  while (end > 0) {
    const start = Math.max(0, end - TAIL_BLOCK_BYTES);
    const { bytesRead } = await handle.read(block, 0, end - start, start);
    const newline = block.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (newline >= 0) return start + newline + 1;
    end = start;
  }
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
