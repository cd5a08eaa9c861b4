import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packagePath } from '../core/package-path.ts';
import { SetupError } from './errors.ts';

/** The shipped dashboards/ folder, from the sources and from dist/ alike. */
export function defaultDashboardsDir(): string {
  return packagePath('dashboards');
}

export interface SavedObjectBundle {
  /** One NDJSON document: every object of every file, data views first. */
  ndjson: string;
  files: string[];
  count: number;
}

/** The data views are written for `clawdstrike-{events,alerts}-*`, the default prefix's patterns. */
const PATTERN = /^clawdstrike-(events|alerts)-\*$/;

/**
 * Reads every `*.ndjson` in `dir` into one import document. With another index prefix the data views'
 * patterns are rewritten to match it; their ids stay, so re-importing still overwrites.
 */
export function readSavedObjects(dir: string, indexPrefix: string): SavedObjectBundle {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((name) => name.endsWith('.ndjson'))
      .sort(
        (a, b) => Number(b === 'data-views.ndjson') - Number(a === 'data-views.ndjson') || a.localeCompare(b),
      );
  } catch (error) {
    throw new SetupError('kibana', `cannot read the dashboards folder ${dir}: ${(error as Error).message}`);
  }
  if (files.length === 0) throw new SetupError('kibana', `no .ndjson files in ${dir}`);
  const lines: string[] = [];
  for (const file of files) {
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (line.trim() === '') return;
        let object: Record<string, unknown>;
        try {
          object = JSON.parse(line) as Record<string, unknown>;
        } catch (error) {
          throw new SetupError(
            'kibana',
            `${join(dir, file)}:${index + 1}: not JSON (${(error as Error).message})`,
          );
        }
        lines.push(JSON.stringify(withPrefix(object, indexPrefix)));
      });
  }
  return { ndjson: `${lines.join('\n')}\n`, files, count: lines.length };
}

function withPrefix(object: Record<string, unknown>, indexPrefix: string): Record<string, unknown> {
  const attributes = object.attributes as Record<string, unknown> | undefined;
  const match = object.type === 'index-pattern' ? PATTERN.exec(String(attributes?.title)) : null;
  if (!match || indexPrefix === 'clawdstrike') return object;
  return { ...object, attributes: { ...attributes, title: `${indexPrefix}-${match[1]}-*` } };
}
