// Writes schemas/*.json from the zod schemas: `npm run schemas`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PUBLISHED_SCHEMAS, renderSchema } from './json-schemas.ts';

const outDir = join(import.meta.dirname, '..', 'schemas');
mkdirSync(outDir, { recursive: true });
for (const [name, schema] of Object.entries(PUBLISHED_SCHEMAS)) {
  writeFileSync(join(outDir, name), renderSchema(name, schema));
  console.log(`wrote schemas/${name}`);
}
