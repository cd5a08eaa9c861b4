import { join } from 'node:path';
import { err, ok, type Result } from '../../core/result.ts';
import { readStructured } from '../data-file.ts';
import { FrameworkSchema } from './schema.ts';
import { type Frameworks, indexFramework } from './tags.ts';

/** The committed framework files: frameworks/atlas.json and frameworks/attack-enterprise.json. */
export const FRAMEWORK_FILES = { atlas: 'atlas.json', attack: 'attack-enterprise.json' } as const;

/** Reads and validates both framework files under `directory`; every problem is named by file. */
export function loadFrameworks(directory: string): Result<Frameworks, string[]> {
  const problems: string[] = [];
  const indexed: Partial<Frameworks> = {};
  for (const [name, fileName] of Object.entries(FRAMEWORK_FILES) as Array<[keyof Frameworks, string]>) {
    const file = join(directory, fileName);
    const content = readStructured(file);
    if (!content.ok) {
      problems.push(`${file}: ${content.error.message}`);
      continue;
    }
    const parsed = FrameworkSchema.safeParse(content.value);
    if (!parsed.success) {
      problems.push(
        ...parsed.error.issues.map((issue) => `${file}: $.${issue.path.join('.')}: ${issue.message}`),
      );
    } else if (parsed.data.framework !== name) {
      problems.push(`${file}: framework is "${parsed.data.framework}", expected "${name}"`);
    } else {
      indexed[name] = indexFramework(parsed.data);
    }
  }
  if (problems.length > 0 || !indexed.atlas || !indexed.attack) return err(problems);
  return ok({ atlas: indexed.atlas, attack: indexed.attack });
}
