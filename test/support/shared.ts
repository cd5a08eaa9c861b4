import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo root, found from this file so tests work from any working directory. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** ../shared beside the repo: the upstream wire-format samples (CI lays it there too). */
export const SHARED_DIR = resolve(REPO_ROOT, '..', 'shared');

export function sharedPath(...parts: string[]): string {
  const path = join(SHARED_DIR, ...parts);
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: the tests need ../shared (FORMATS.md, fixtures/) beside the repository`,
    );
  }
  return path;
}

/** Parsed JSON lines of a file, skipping blank lines. */
export function readJsonLines(path: string): unknown[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}
