import { readFileSync } from 'node:fs';

export interface EnvFile {
  /** `NAME=value` lines. */
  values: Record<string, string>;
  /** `# NAME=value` lines: settings the file documents but leaves off. */
  documented: Record<string, string>;
}

/** Compose's .env syntax, as far as .env.example uses it: NAME=value, optional quotes, # comments. */
export function readEnvFile(path: string): EnvFile {
  const values: Record<string, string> = {};
  const documented: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*(#\s*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    const value = match[3]!.trim().replace(/^(["'])(.*)\1$/, '$2');
    (match[1] ? documented : values)[match[2]!] = value;
  }
  return { values, documented };
}
