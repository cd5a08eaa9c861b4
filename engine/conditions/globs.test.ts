import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { random } from '../../test/engine/prng.ts';
import { compileGlobs, type GlobMatcher, type GlobOptions } from './globs.ts';

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
  'src/',
  'a/',
  'x//y',
  ...PATTERNS,
];

/** picomatch as the glob operator used it before the switch to RE2: dot files included, `./` ignored. */
const PICOMATCH = { dot: true, format: (input: string) => (input.startsWith('./') ? input.slice(2) : input) };

function compiled(patterns: readonly string[], options: GlobOptions = {}): GlobMatcher {
  const matcher = compileGlobs(patterns, options);
  if (typeof matcher !== 'function') throw new Error(`${patterns[matcher.index]}: ${matcher.reason}`);
  return matcher;
}

/** Where the glob operator answers differently from picomatch, on purpose (see globs.ts), in test order. */
const DIFFERENCES: Array<[pattern: string, input: string, ours: boolean]> = [
  // `x/**` matches `x` after a wildcard too.
  ['/etc/cron*/**', '/etc/crontab', true],
  // An input that is empty once `./` is removed matches nothing.
  ['!**/node_modules/**', './', false],
  // `.` is a name like any other.
  ['**', '.', true],
  ['**', './', false],
];

describe('compileGlobs', () => {
  for (const nocase of [false, true]) {
    it(`answers as picomatch does, but where the difference is meant (nocase: ${nocase})`, () => {
      const mismatches: Array<[string, string, boolean]> = [];
      for (const pattern of PATTERNS) {
        const expected = picomatch([pattern], { ...PICOMATCH, nocase });
        const actual = compiled([pattern], { nocase });
        for (const input of INPUTS)
          if (actual(input) !== expected(input)) mismatches.push([pattern, input, actual(input)]);
      }
      expect(mismatches).toEqual(DIFFERENCES);
      // Sets of patterns answer as their members do.
      for (const patterns of [PATTERNS, PATTERNS.slice(0, 6)]) {
        const actual = compiled(patterns, { nocase });
        const members = patterns.map((pattern) => compiled([pattern], { nocase }));
        for (const input of INPUTS)
          expect([input, actual(input)]).toEqual([input, members.some((member) => member(input))]);
      }
    });
  }

  it('matches through `.` and `..` segments, so they cannot hide a path', () => {
    const credentials = compiled(['**/.ssh/**']);
    for (const path of [
      '/home/u/./.ssh/id_rsa',
      '/tmp/../home/u/.ssh/id_rsa',
      '/home/u/.ssh/../.ssh/id_rsa',
    ]) {
      expect([path, credentials(path)]).toEqual([path, true]);
      expect(picomatch('**/.ssh/**', PICOMATCH)(path)).toBe(false);
    }
    expect(compiled(['/etc/**'])('/etc/../etc/shadow')).toBe(true);
  });

  it('folds case as RE2 does, the prefilter included (the Kelvin sign is a k, the long s an s)', () => {
    const matcher = compiled(['*.key.example', 'session.example'], { nocase: true });
    expect(matcher('a.\u212Aey.example')).toBe(true);
    expect(matcher('\u017Fession.EXAMPLE')).toBe(true);
    expect(matcher('a.kex.example')).toBe(false);
  });

  it('ignores a trailing slash of the input', () => {
    expect(compiled(['api.github.com'])('api.github.com/')).toBe(true);
    expect(compiled(['/etc/passwd'])('/etc/passwd/')).toBe(true);
    expect(compiled(['/etc/passwd'])('/etc/passwd//')).toBe(false);
  });

  it('matches across a newline in a path', () => {
    expect(compiled(['**/.ssh/**'])('/home/u/x\n/.ssh/id_rsa')).toBe(true);
    expect(compiled(['/etc/*'])('/etc/pass\nwd')).toBe(true);
  });

  it.each([
    ['!(a|b)', /negated extglobs/],
    ['file{1..3}', /brace ranges/],
    ['[z-a]', /invalid glob/],
  ])('refuses %s with the reason', (pattern, reason) => {
    const matcher = compileGlobs(['ok/**', pattern]);
    expect(typeof matcher).toBe('object');
    if (typeof matcher === 'object') {
      expect(matcher.index).toBe(1);
      expect(matcher.reason).toMatch(reason);
    }
  });

  it('refuses a list that compiles past the program-size limit', () => {
    const values = Array.from({ length: 400 }, (_, i) => `/srv/app-${i}/**/*.secret`);
    const matcher = compileGlobs(values, {}, { maxLength: 1_024, maxProgramSize: 4_000 });
    expect(typeof matcher === 'object' && matcher.reason).toMatch(
      /^with the patterns before it, compiles to more than 4000 RE2 instructions$/,
    );
  });
});

describe('compileGlobs on generated paths', () => {
  // Plain patterns only, so the required-text prefilter is in play; inputs are assembled from the same pieces.
  const PLAIN = ['**/.ssh/**', '**/.aws/credentials', '/etc/cron/**', '**/.env', 'a?c', '**/id_*', 'ssh'];
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
  it('answers as picomatch does, on paths without `.` or `..` segments', () => {
    const r = random(5);
    const expected = picomatch(PLAIN, PICOMATCH);
    const actual = compiled(PLAIN);
    let matched = 0;
    let compared = 0;
    for (let i = 0; i < 5000; i++) {
      const input = Array.from({ length: 1 + r.int(6) }, () => r.pick(PIECES)).join('');
      const path = PICOMATCH.format(input);
      if (path.split('/').some((segment) => segment === '.' || segment === '..') || path.endsWith('/'))
        continue;
      compared++;
      expect([input, actual(input)]).toEqual([input, expected(input)]);
      if (expected(input)) matched++;
    }
    expect(compared).toBeGreaterThan(2000);
    expect(matched).toBeGreaterThan(200);
  });
});
