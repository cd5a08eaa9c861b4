import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../test/support/shared.ts';
import { PUBLISHED_SCHEMAS, renderSchema } from './json-schemas.ts';

const schemasDir = join(REPO_ROOT, 'schemas');

describe('schemas/ is current with the zod schemas', () => {
  for (const [name, schema] of Object.entries(PUBLISHED_SCHEMAS)) {
    it(`${name} matches (run \`npm run schemas\` after changing a zod schema)`, () => {
      expect(readFileSync(join(schemasDir, name), 'utf8')).toBe(renderSchema(name, schema));
    });
  }

  it('holds no schema that is no longer published', () => {
    expect(readdirSync(schemasDir).sort()).toEqual(Object.keys(PUBLISHED_SCHEMAS).sort());
  });
});
