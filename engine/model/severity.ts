import type { Severity } from '../../core/severity.ts';

/** Every severity word the upstream sources use, mapped to the one scale (FORMATS.md, "Severity"). */
const SEVERITY_WORDS: Record<string, Severity> = {
  info: 'info',
  informational: 'info',
  low: 'low',
  medium: 'medium',
  warning: 'medium',
  warn: 'medium',
  high: 'high',
  error: 'high',
  critical: 'critical',
};

/** ECS `event.severity` numbers as hushd's elastic exporter writes them. */
const SEVERITY_NUMBERS: Record<number, Severity> = {
  1: 'info',
  2: 'low',
  3: 'medium',
  4: 'high',
  5: 'critical',
};

/** Own entries only: an inherited name such as `constructor` is not a severity. */
function lookup<K extends string | number>(table: Record<K, Severity>, key: K): Severity | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

export function normalizeSeverity(value: unknown): Severity | undefined {
  // Most senders already write a lowercase word: found without making trimmed and lowercased copies.
  if (typeof value === 'string')
    return lookup(SEVERITY_WORDS, value) ?? lookup(SEVERITY_WORDS, value.trim().toLowerCase());
  if (typeof value === 'number') return lookup(SEVERITY_NUMBERS, value);
  return undefined;
}
