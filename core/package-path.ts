import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root, found by walking up to package.json: the same answer from the TypeScript sources and
 * from the compiled dist/, whose depth differs.
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`clawdstrike-edr: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

const ROOT = packageRoot();

/** A path inside the installed package (rules/, intel/, fixtures/, dashboards/). */
export function packagePath(...parts: string[]): string {
  return join(ROOT, ...parts);
}
