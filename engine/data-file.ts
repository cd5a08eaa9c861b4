import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { err, ok, type Result } from '../core/result.ts';

/**
 * File access for the loaders (rules, intel, inventory): the only place in engine/ that touches the disk.
 * The engine itself receives parsed objects.
 */

/** Files under `path` (itself when a file) whose extension is in `extensions`, sorted for a stable order. */
export function listFiles(path: string, extensions: readonly string[]): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full, extensions));
    else if (extensions.includes(extname(entry.name).toLowerCase())) out.push(full);
  }
  return out.sort();
}

export function readText(path: string): Result<string, string> {
  try {
    return ok(readFileSync(path, 'utf8'));
  } catch (error) {
    return err(
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message,
    );
  }
}

/** Parses JSON (`.json`) or YAML (anything else); the error names the line when the parser gives one. */
export function parseStructured(path: string, text: string): Result<unknown, string> {
  if (extname(path).toLowerCase() === '.json') {
    try {
      return ok(JSON.parse(text));
    } catch (error) {
      return err(`invalid JSON: ${(error as Error).message}`);
    }
  }
  const document = parseDocument(text);
  const first = document.errors[0];
  if (first) return err(`invalid YAML: ${first.message.split('\n')[0]}`);
  return ok(document.toJS());
}

export function readStructured(path: string): Result<unknown, string> {
  const text = readText(path);
  return text.ok ? parseStructured(path, text.value) : text;
}
