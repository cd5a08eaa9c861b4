import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { random } from '../../test/engine/prng.ts';
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
  '**/.env',
  '/etc/passwd',
  'a?c',
  '**/.config/gcloud/**',
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
  '/srv/app/.env',
  '.env',
  'x/.envrc',
  '/etc/passwd',
  './etc/passwd',
  'abc',
  'a/c',
  '/home/u/.config/gcloud/credentials.db',
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

describe('compileGlobs on generated paths', () => {
  // Plain patterns only, so the required-text prefilter is in play; inputs are assembled from the same pieces.
  const PLAIN = ['**/.ssh/**', '**/.aws/credentials', '/etc/cron*/**', '**/.env', 'a?c', '**/id_*', 'ssh'];
  const PIECES = [
    '/',
    '.',
    './',
    'ssh',
    'aws',
    'env',
    'credentials',
    'etc',
    'cron',
    'a',
    'c',
    'id_',
    'x',
    '.ssh',
  ];
  it('answers as picomatch does', () => {
    const r = random(5);
    const expected = picomatch(PLAIN, GLOB_OPTIONS);
    const actual = compileGlobs(PLAIN, GLOB_OPTIONS);
    let matched = 0;
    for (let i = 0; i < 5000; i++) {
      const input = Array.from({ length: 1 + r.int(6) }, () => r.pick(PIECES)).join('');
      expect([input, actual(input)]).toEqual([input, expected(input)]);
      if (expected(input)) matched++;
    }
    expect(matched).toBeGreaterThan(200);
  });
});
