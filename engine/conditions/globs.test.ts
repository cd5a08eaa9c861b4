import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { compileGlobs, GLOB_OPTIONS } from './operators.ts';

const PATTERNS = [
  '**/.ssh/**',
  '**/.aws/credentials',
  '**/.ssh/id_*',
  '/etc/cron*/**',
  '*.openai.com',
  'api.github.com',
  '!**/node_modules/**',
  '*.{js,ts}',
  '@(a|b)/*',
  '+(x|y)z',
  '[abc]*',
  '**',
  './src/**',
  'weird(name',
  'a\\*b',
];
const INPUTS = [
  '',
  '.',
  './',
  '/home/u/.ssh/id_rsa',
  './home/u/.ssh/config',
  '.ssh/known_hosts',
  '/home/u/.aws/credentials',
  '/home/u/.AWS/Credentials',
  '/etc/cron.d/job',
  '/etc/crontab',
  'api.openai.com',
  'API.OpenAI.com',
  'openai.com',
  'api.github.com',
  'node_modules/x/index.js',
  'src/index.ts',
  './src/index.ts',
  'a/file',
  'xxz',
  'b',
  'weird(name',
  'a*b',
  'axb',
  '/srv/project/src/module-1/file-2.ts',
  ...PATTERNS,
];

describe('compileGlobs', () => {
  for (const nocase of [false, true]) {
    it(`answers as picomatch does (nocase: ${nocase})`, () => {
      const options = { ...GLOB_OPTIONS, nocase };
      const subsets = [...PATTERNS.map((pattern) => [pattern]), PATTERNS, PATTERNS.slice(0, 6)];
      for (const patterns of subsets) {
        const expected = picomatch(patterns, options);
        const actual = compileGlobs(patterns, options);
        for (const input of INPUTS)
          expect([patterns, input, actual(input)]).toEqual([patterns, input, expected(input)]);
      }
    });
  }
});
