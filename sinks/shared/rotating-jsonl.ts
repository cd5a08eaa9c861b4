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

/**
 * Appends whole lines to `path`, renaming it to `<name>.<UTC stamp>-<n>.<ext>` when it is full.
 * Appends are serialized, so lines of concurrent batches never interleave and a line never spans two files.
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
    await handle.appendFile(chunk);
    if (this.options.fsync) await handle.datasync();
    this.size += chunk.length;
  }

  private async open(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    await mkdir(dirname(this.options.path), { recursive: true });
    this.handle = await open(this.options.path, 'a');
    this.size = (await this.handle.stat()).size;
    return this.handle;
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

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
