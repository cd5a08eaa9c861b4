import { extname } from 'node:path';
import { err, ok, type Result } from '../../core/result.ts';
import { listFiles, parseStructured, readText } from '../data-file.ts';
import { AssetInventory, type AssetRecord, parseAssetCsv, parseAssetJson } from './assets.ts';
import {
  type Indicator,
  IntelIndex,
  type ParsedIndicators,
  parseIndicatorCsv,
  parseIndicatorJson,
  parseIndicatorText,
} from './intel.ts';

/**
 * Reads threat intel and inventory files for the CLI and the processor. Format by extension:
 * `.json` (JSON or STIX bundle), `.yaml`/`.yml` (same shapes), `.csv`, anything else plain text.
 * Refused entries are reported but do not stop the load; an unreadable file does.
 */
export const INTEL_FILE_EXTENSIONS = ['.txt', '.list', '.csv', '.json', '.yaml', '.yml'] as const;

export interface Loaded<T> {
  value: T;
  warnings: string[];
}

function parseIntelFile(file: string, text: string): Result<ParsedIndicators, string> {
  const extension = extname(file).toLowerCase();
  if (extension === '.csv') return ok(parseIndicatorCsv(text, file));
  if (extension === '.json' || extension === '.yaml' || extension === '.yml') {
    const content = parseStructured(file, text);
    return content.ok ? ok(parseIndicatorJson(content.value, file)) : err(`${file}: ${content.error}`);
  }
  return ok(parseIndicatorText(text, file));
}

export function loadIntel(paths: readonly string[]): Result<Loaded<IntelIndex>, string[]> {
  const indicators: Indicator[] = [];
  const warnings: string[] = [];
  const failures: string[] = [];
  for (const path of paths) {
    let files: string[];
    try {
      files = listFiles(path, INTEL_FILE_EXTENSIONS);
    } catch {
      failures.push(`${path}: no such file or directory`);
      continue;
    }
    for (const file of files) {
      const text = readText(file);
      const parsed = text.ok ? parseIntelFile(file, text.value) : err(`${file}: ${text.error}`);
      if (!parsed.ok) {
        failures.push(parsed.error);
        continue;
      }
      indicators.push(...parsed.value.indicators);
      warnings.push(...parsed.value.problems);
    }
  }
  return failures.length > 0 ? err(failures) : ok({ value: new IntelIndex(indicators), warnings });
}

export function loadAssets(paths: readonly string[]): Result<Loaded<AssetInventory>, string[]> {
  const records: AssetRecord[] = [];
  const warnings: string[] = [];
  const failures: string[] = [];
  for (const file of paths) {
    const text = readText(file);
    if (!text.ok) {
      failures.push(`${file}: ${text.error}`);
      continue;
    }
    if (extname(file).toLowerCase() === '.csv') {
      const parsed = parseAssetCsv(text.value, file);
      records.push(...parsed.records);
      warnings.push(...parsed.problems);
      continue;
    }
    const content = parseStructured(file, text.value);
    const parsed = content.ok ? parseAssetJson(content.value, file) : undefined;
    if (!parsed || parsed.problems.length > 0) {
      failures.push(...(parsed?.problems ?? [`${file}: ${content.ok ? '' : content.error}`]));
      continue;
    }
    records.push(...parsed.records);
  }
  return failures.length > 0 ? err(failures) : ok({ value: new AssetInventory(records), warnings });
}
