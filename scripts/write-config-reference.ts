// Writes docs/configuration.md from the zod config schemas: `npm run docs:config`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigReference } from './config-reference.ts';

writeFileSync(join(import.meta.dirname, '..', 'docs', 'configuration.md'), renderConfigReference());
console.log('wrote docs/configuration.md');
